#!/usr/bin/env -S node --initial-old-space-size=64
/**
 * `edupulse-es`: the EduPulse event store's command line. `serve` runs the
 * server; the other commands are its clients and its offline tools.
 *
 * Node runs it with V8's old generation starting at 64 MiB (as `npm start`
 * does, package.json). A fresh server catching a subscriber up from disk
 * allocates several hundred MB/s of short-lived ArrayBuffers (LevelDB's
 * pages, the batch messages, grpc-js's framed copies); on V8's small
 * initial heap their backing stores set off a full mark-compact about every
 * 70 ms that frees next to nothing, taking about a fifth off catch-up at
 * 2 KiB.
 */
import {readFileSync} from 'node:fs';
import {Command, CommanderError} from 'commander';
import {clientCommands} from './clientCommands.js';
import {groupCommands} from './groupCommands.js';
import {dataCommands} from './dataCommands.js';
import {serveCommand} from './serveCommand.js';
import {unknownCommandMessage} from './commandSuggestions.js';
import {InvalidSettingError} from '../server/src/config/settings.js';

const {version} = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {version: string};

const program = new Command('edupulse-es')
  .description('The EduPulse event store: a gRPC event store and event bus on an embedded LevelDB.')
  .version(version)
  .showHelpAfterError();
program.addCommand(serveCommand(), {isDefault: true});
for (const command of [...clientCommands(), groupCommands(), ...dataCommands()]) program.addCommand(command);
// Usage errors (unknown option, missing argument) exit 2, after commander has printed them.
const throwInsteadOfExit = (command: Command): void => {
  command.exitOverride();
  command.commands.forEach(throwInsteadOfExit);
};
throwInsteadOfExit(program);

const commands = program.commands.map(c => c.name()).concat('help');
const first = process.argv[2];
if (first !== undefined && !first.startsWith('-') && !commands.includes(first)) {
  process.stderr.write(`edupulse-es: ${unknownCommandMessage(first, commands)}\n`);
  process.exit(2);
}

/** gRPC's UNAUTHENTICATED, as the SDK's errors carry it. */
const UNAUTHENTICATED = 16;

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : 2);
  const message = error instanceof Error ? error.message : String(error);
  // The server says which header to send; a person at a shell needs the flag.
  const keyHint = (error as {code?: unknown}).code === UNAUTHENTICATED ? ' (give the key with --api-key <key>, or EDUPULSE_API_KEY)' : '';
  process.stderr.write(`edupulse-es: ${message}${keyHint}\n`);
  // Bad configuration is a usage error; everything else a failure.
  process.exit(error instanceof InvalidSettingError ? 2 : 1);
});
