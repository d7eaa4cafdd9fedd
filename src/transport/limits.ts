import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesPlugin } from '@escape.tech/graphql-armor-max-directives';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import type { Plugin } from 'graphql-yoga';

/** Document limits, the same on HTTP, SSE and WebSocket (they run in yoga's envelop). */
export const DOCUMENT_LIMITS = {
  /** Field nesting; the deepest useful query of this schema is 6. */
  maxDepth: 12,
  /** Nesting including introspection fields. */
  maxIntrospectionDepth: 15,
  /** Aliases per operation: 50 aliased `startOperation` calls are refused. */
  maxAliases: 15,
  /** Lexical tokens per document; GraphiQL's introspection query needs about 400. */
  maxTokens: 3000,
  /** Directives per operation. */
  maxDirectives: 50,
} as const;

/** The envelop plugins that reject oversized documents before they execute. */
export function documentLimitPlugins(): Plugin[] {
  return [
    maxTokensPlugin({ n: DOCUMENT_LIMITS.maxTokens }) as Plugin,
    maxDepthPlugin({ n: DOCUMENT_LIMITS.maxDepth, flattenFragments: true }) as Plugin,
    // The rule above skips introspection fields; GraphiQL's introspection query is 15 deep, so a
    // looser second limit covers `__schema`/`__type` nesting bombs.
    maxDepthPlugin({
      n: DOCUMENT_LIMITS.maxIntrospectionDepth,
      flattenFragments: true,
      ignoreIntrospection: false,
    }) as Plugin,
    maxAliasesPlugin({ n: DOCUMENT_LIMITS.maxAliases }) as Plugin,
    maxDirectivesPlugin({ n: DOCUMENT_LIMITS.maxDirectives }) as Plugin,
  ];
}
