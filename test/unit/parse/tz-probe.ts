// Child-process probe for the time-zone test: parses the messages on stdin, prints the lines.
import { readFileSync } from 'node:fs';
import { toRawRecordLines } from '../../../src/core/parse/index.ts';

const messages = JSON.parse(readFileSync(0, 'utf8'));
const lines = messages.flatMap((m: Parameters<typeof toRawRecordLines>[0]) => toRawRecordLines(m, { region: 'r' }));
process.stdout.write(JSON.stringify({ offset: new Date(Date.UTC(2024, 0, 1)).getTimezoneOffset(), lines }));
