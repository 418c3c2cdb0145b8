import { plainLocator } from './locator.js';
export const noDamage = () => ({ services: new Set(), nodes: new Set(), servicesSection: false, nodesSection: false });
export function defaultContext(file) {
    return { locate: plainLocator(file), damaged: noDamage() };
}
/** Field of a model element: the one it was read from, else the canonical one. */
export const fieldOf = (el, fallback) => el.loc?.field ?? fallback;
//# sourceMappingURL=check-context.js.map