/**
 * Builds the plugin's handlers from the declarations: tool dispatch and credential validation.
 * (Skeleton: the tools helper replaces this with the registry.)
 * @module
 */
import type { Declarations } from '../runtime/declarations.js';
import { PluginError, TOOL_INVOKE_ERROR, CREDENTIAL_VALIDATION_ERROR } from '../runtime/contract.js';
import type { PluginHandlers } from '../runtime/contract.js';

export function createPluginApp(_declarations: Declarations): PluginHandlers {
  return {
    // eslint-disable-next-line require-yield
    async *invokeTool(request) {
      throw new PluginError(TOOL_INVOKE_ERROR, `tool ${request.tool} is not built yet`);
    },
    async validateCredentials() {
      throw new PluginError(CREDENTIAL_VALIDATION_ERROR, 'credential validation is not built yet');
    },
    async close() {},
  };
}
