#!/usr/bin/env node
'use strict';
// The `oauth2-jwt-bearer` command. In a checkout (TypeScript sources present) it runs them through tsx,
// so it works straight after `npm ci`; in the published package it runs the compiled dist/.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const source = join(__dirname, '..', 'lib', 'cli', 'main.ts');
if (existsSync(source)) {
  require('tsx/cjs');
  require(source).main(process.argv);
} else {
  require(join(__dirname, '..', 'dist', 'lib', 'cli', 'main.js')).main(process.argv);
}
