#!/usr/bin/env node
// The `vigil` command. Runs the built CLI (npm ci builds it through the root `prepare` script).
import { main } from '../dist/main.js';

process.exitCode = await main(process.argv, process.env);
