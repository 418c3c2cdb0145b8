import type { Location } from '../../diagnostics/index.js';
import { plainLocator, type Locator } from '../locator.js';

/**
 * What semantic checks need besides the model: where fields are, and which
 * entries exist but were already rejected by the structural checks. References
 * to such entries are not reported again, so one mistake gives one error.
 */
export interface CheckContext {
  locate: Locator;
  damaged: Damage;
}

export interface Damage {
  /** Services/nodes that exist in the input but failed structural checks. */
  services: Set<string>;
  nodes: Set<string>;
  /** The whole section was unusable (missing or of the wrong type): skip references into it. */
  servicesSection: boolean;
  nodesSection: boolean;
}

export const noDamage = (): Damage => ({ services: new Set(), nodes: new Set(), servicesSection: false, nodesSection: false });

export function defaultContext(file?: string): CheckContext {
  return { locate: plainLocator(file), damaged: noDamage() };
}

/** Field of a model element: the one it was read from, else the canonical one. */
export const fieldOf = (el: { loc?: Location }, fallback: string): string => el.loc?.field ?? fallback;
