#!/usr/bin/env node
// Development entry point: rebuilds nothing, but runs without the cached manifest so new commands show up.
'use strict'
const root = require('node:path').join(__dirname, '..') // not bin/, whose package.json only says CommonJS
import('@oclif/core').then(({execute}) => execute({development: true, loadOptions: {root}}))
