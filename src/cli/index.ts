/**
 * `mem0ai-dify` (or `npm run try --`): runs one of the plugin's tools in this process, through the same handlers Dify
 * reaches (the app main.ts opens), against a local config file instead of the Dify settings page.
 * `demo` runs the main job — add, search, list, delete — in one go.
 *
 * Writes the tool's answer on stdout (its text, or with --json its JSON message); notes for the person (which model,
 * which database) go to stderr. Exit code: 0 when the status is SUCCESS or ACCEPTED, 1 for any other status or a
 * failure, 2 for a command-line mistake.
 * @module
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { logger } from '../shared/log.js';
import type { PluginHandlers, SessionContext, ToolMessage } from '../runtime/contract.js';
import { loadDeclarations, pluginRoot } from '../runtime/declarations.js';
import type { Declarations, ToolDeclaration } from '../runtime/declarations.js';
import { parseCommandLine, toolParameters, UsageError } from './args.js';
import type { CliCommand } from './args.js';
import { readConfigFile } from './config-file.js';
import { startDemoModel } from './demo-model.js';
import type { DemoModel } from './demo-model.js';

/** Read when no --config is given and it exists in the current folder. */
export const DEFAULT_CONFIG_FILE = 'mem0ai-dify.yaml';
/** The demo's own embedded database, so demo memories never mix with real ones. */
export const DEMO_DATA_DIR = './data/pglite-demo';
const OK_STATUSES = new Set(['SUCCESS', 'ACCEPTED']);

type Out = (text: string) => void;

interface Io {
  out: Out;
  note: Out;
}

function usage(declarations: Declarations): string {
  const width = Math.max(...declarations.tools.map((t) => t.identity.name.length));
  const tools = declarations.tools.map((t) => `  ${t.identity.name.padEnd(width)}  ${t.description.human.en_US}`).join('\n');
  return `Runs the plugin's tools on this machine, through the same code Dify calls.

usage: npm run try -- <tool> --<parameter> <value> … [--config FILE] [--demo] [--json]
       npm run try -- <tool> --help        the tool's parameters
       npm run demo                        add, search, list and delete in one go (offline demo model)

  --config FILE  the settings, as on the plugin's Dify settings page, in YAML or .env form
                 (default: ./${DEFAULT_CONFIG_FILE} if present; see mem0ai-dify.example.yaml). Without a vector
                 store the embedded database (PGlite) is used.
  --demo         use the offline demo model: a loopback fake started by this command that stores each sentence as
                 said and matches by shared words. It is not a language model; for real extraction configure one.
  --json         print the tool's JSON answer instead of its text

tools:
${tools}
`;
}

function toolHelp(tool: ToolDeclaration): string {
  const lines = tool.parameters.map((p) => {
    const kind = `${p.type}${p.required ? ', required' : ''}${p.default !== undefined && p.default !== null ? `, default ${String(p.default)}` : ''}`;
    return `  --${p.name} (${kind})\n      ${p.human_description.en_US}`;
  });
  return `${tool.identity.name}: ${tool.description.human.en_US}\n\n${lines.join('\n') || '  (no parameters)'}\n`;
}

/** The credentials for this run: the config file, the demo model over the LLM and embedder, sync writes. */
function credentialsFor(command: CliCommand, declarations: Declarations, demo: DemoModel | undefined, io: Io): Record<string, unknown> {
  const fields = Object.keys(declarations.provider.credentials_for_provider ?? {});
  const file = command.config ?? (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined);
  const fromFile = file ? readConfigFile(file, fields) : {};
  if (file) io.note(`settings: ${path.resolve(file)}`);
  const credentials: Record<string, unknown> = { ...fromFile };
  if (demo) {
    Object.assign(credentials, demo.credentials);
    if (!credentials.local_vector_db_json_secret) {
      credentials.local_vector_db_json_secret = JSON.stringify({ provider: 'pglite', config: { path: DEMO_DATA_DIR } });
      io.note(`storage: embedded database (PGlite) in ${DEMO_DATA_DIR}, kept apart from real memories`);
    }
    io.note(
      `model: OFFLINE DEMO — a loopback fake at ${demo.baseUrl} started by this command, not a language model: ` +
        'each sentence the user says is stored as said, and search matches shared words. Configure a real model with --config for real extraction.',
    );
  } else if (!credentials.local_llm_json_secret || !credentials.local_embedder_json_secret) {
    throw new UsageError(
      `no model configured: put local_llm_json_secret and local_embedder_json_secret in ./${DEFAULT_CONFIG_FILE} ` +
        '(or --config FILE; see mem0ai-dify.example.yaml), or pass --demo for the offline demo model',
    );
  }
  if (!credentials.local_vector_db_json_secret) io.note('storage: embedded database (PGlite), the default');
  else if (!demo || fromFile.local_vector_db_json_secret) io.note('storage: the vector store of the settings file');
  // A person reads this terminal: the logger shows warnings and errors unless the settings or LOG_LEVEL say otherwise.
  credentials.log_level ??= process.env.LOG_LEVEL ?? 'WARNING';
  // One call per process: a write queued for later would be left behind when the process exits.
  credentials.async_mode = false;
  return credentials;
}

function session(signal: AbortSignal): SessionContext {
  return { sessionId: 'cli', userId: null, appId: null, conversationId: null, messageId: null, signal, logger };
}

interface Answer {
  status: string;
  json: Record<string, unknown> | undefined;
  text: string;
}

async function invoke(app: PluginHandlers, tool: string, parameters: Record<string, unknown>, credentials: Record<string, unknown>, signal: AbortSignal): Promise<Answer> {
  const messages: ToolMessage[] = [];
  for await (const message of app.invokeTool({ provider: 'mem0ai', tool, toolParameters: parameters, credentials }, session(signal))) {
    messages.push(message);
  }
  let json: Record<string, unknown> | undefined;
  const texts: string[] = [];
  for (const message of messages) {
    if (message.type === 'json') json = message.message.json_object;
    else if (message.type === 'text') texts.push(message.message.text);
  }
  return { status: String(json?.status ?? 'ERROR'), json, text: texts.join('\n') };
}

function print(answer: Answer, json: boolean, io: Io): void {
  io.out(json ? JSON.stringify(answer.json ?? {}, null, 2) : answer.text);
}

function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The main job, step by step, each step shown as the command that does it alone. */
async function runDemo(app: PluginHandlers, credentials: Record<string, unknown>, command: CliCommand, io: Io, signal: AbortSignal): Promise<boolean> {
  const userId = String(command.params.find(([name]) => name === 'user_id')?.[1] ?? 'demo-user');
  const step = async (tool: string, parameters: Record<string, unknown>): Promise<Answer> => {
    const line = Object.entries(parameters).map(([name, value]) => `--${name} ${shellQuote(String(value))}`).join(' ');
    io.out(`\n$ npm run try -- ${tool} ${line}${command.demo ? ' --demo' : ''}`);
    const answer = await invoke(app, tool, parameters, credentials, signal);
    print(answer, command.json, io);
    return answer;
  };
  const added = await step('add_memory', {
    user_id: userId,
    user: 'I live in Lisbon. I drink green tea every morning. My daughter Ana plays the cello.',
  });
  if (!OK_STATUSES.has(added.status)) return false;
  const found = await step('search_memory', { user_id: userId, query: 'What do I drink in the morning?', top_k: 2 });
  await step('get_all_memories', { user_id: userId });
  const first = (found.json?.results as Array<{ id?: string }> | undefined)?.[0]?.id;
  if (!first) return false;
  const deleted = await step('delete_memory', { memory_id: first });
  const left = await step('get_all_memories', { user_id: userId });
  return OK_STATUSES.has(deleted.status) && OK_STATUSES.has(left.status);
}

/** Builds the plugin's handlers from the declarations: main.ts passes app.ts's createApp (only main opens the app). */
export type OpenApp = (declarations: Declarations) => PluginHandlers;

/** Runs the command line; resolves with the exit code. */
export async function runCli(
  argv: readonly string[],
  openApp: OpenApp,
  io: Io = { out: (t) => process.stdout.write(`${t}\n`), note: (t) => process.stderr.write(`${t}\n`) },
): Promise<number> {
  if (!process.env.LOG_LEVEL) logger.level = 'warn';
  const declarations = loadDeclarations(pluginRoot());
  let command: CliCommand;
  try {
    command = parseCommandLine(argv);
  } catch (error) {
    io.note(`${(error as Error).message}\n\n${usage(declarations)}`);
    return 2;
  }
  const name = command.command;
  if (name === undefined || name === 'help' || name === 'tools') {
    io.out(usage(declarations));
    return name === undefined && !command.help ? 2 : 0;
  }
  const isDemo = name === 'demo';
  const tool = declarations.tools.find((t) => t.identity.name === name);
  if (!tool && !isDemo) {
    io.note(`unknown tool "${name}"; the tools are ${declarations.tools.map((t) => t.identity.name).join(', ')}`);
    return 2;
  }
  if (tool && command.help) {
    io.out(toolHelp(tool));
    return 0;
  }
  // `demo` without a config uses the demo model; with a config that names models it uses those.
  const wantsDemo = command.demo || (isDemo && !command.config && !existsSync(DEFAULT_CONFIG_FILE));
  const controller = new AbortController();
  const onSignal = () => controller.abort(new Error('interrupted'));
  process.once('SIGINT', onSignal);
  let demo: DemoModel | undefined;
  let app: PluginHandlers | undefined;
  try {
    const parameters = tool ? toolParameters(tool, command.params) : {};
    demo = wantsDemo ? await startDemoModel() : undefined;
    const credentials = credentialsFor({ ...command, demo: wantsDemo }, declarations, demo, io);
    app = openApp(declarations);
    if (isDemo) return (await runDemo(app, credentials, { ...command, demo: wantsDemo }, io, controller.signal)) ? 0 : 1;
    const answer = await invoke(app, name, parameters, credentials, controller.signal);
    print(answer, command.json, io);
    return OK_STATUSES.has(answer.status) ? 0 : 1;
  } catch (error) {
    if (error instanceof UsageError) {
      io.note(error.message);
      return 2;
    }
    io.note(`failed: ${(error as Error).message}`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    await app?.close();
    await demo?.close();
  }
}
