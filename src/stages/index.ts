/**
 * Every stage by name, loaded on demand so the shell CLI only parses the one it runs.
 */
import type { Stage } from '../core/stage.ts';

export const STAGE_LOADERS: Readonly<Record<string, () => Promise<Stage>>> = {
  setup: async () => (await import('./setup/index.ts')).stage,
  snapshot: async () => (await import('./snapshot/index.ts')).stage,
  recipe: async () => (await import('./recipe/index.ts')).stage,
  bundle: async () => (await import('./bundle/index.ts')).stage,
  deploy: async () => (await import('./deploy/index.ts')).stage,
  validate: async () => (await import('./validate/index.ts')).stage,
  'drift-check': async () => (await import('./drift-check/index.ts')).stage,
};

/** Stage names in pipeline order. */
export const STAGE_NAMES = Object.keys(STAGE_LOADERS);
