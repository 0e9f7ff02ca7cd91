/**
 * What a person sees on stderr when they start the plugin by hand in a terminal (`npm start`): what this process is,
 * who normally starts it, and how to try the tools instead of watching heartbeats. Never written when stdin is not
 * a terminal (the daemon's pipe), and never on stdout, which belongs to the protocol.
 * @module
 */

export function greeting(version: string): string {
  return `
mem0ai for Dify ${version}: long-term memory tools (add, search, list, update, delete, forget …) for Dify apps.

This process now speaks the Dify plugin protocol on stdin/stdout and waits for requests; the JSON lines on stdout
are its heartbeats. Normally the Dify plugin daemon starts it (an installed .difypkg runs \`python -m main\`, which
runs this bundle) or, for remote debugging, it connects to Dify itself when .env sets INSTALL_METHOD=remote,
REMOTE_INSTALL_URL and REMOTE_INSTALL_KEY. There is nothing to type here: stop it with Ctrl+C.

To try the tools by hand instead:
  npm run demo                                   add, search, list and delete with the offline demo model
  npm run try -- help                            every tool and how to call it
  npm run try -- add_memory --user_id alice --user "I like green tea" --config mem0ai-dify.yaml
  npm run try -- search_memory --user_id alice --query "tea" --config mem0ai-dify.yaml
(mem0ai-dify.example.yaml shows the settings file; README.md the rest.)
`;
}
