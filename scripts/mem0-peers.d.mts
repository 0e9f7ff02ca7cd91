// Types for scripts/mem0-peers.mjs.
export function missingMem0Peers(root?: string): string[];
