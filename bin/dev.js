#!/usr/bin/env node
// Development entry point: rebuilds nothing, but runs without the cached manifest so new commands show up.
import {execute} from '@oclif/core'

await execute({development: true, dir: import.meta.url})
