/**
 * Dotted field paths (`services.web.ports[1].port`) name a place in a descriptor
 * independently of its text, so semantic checks can point at fields of models
 * that never were YAML (Kubernetes imports, programmatic apps).
 */
export type PathSegment = string | number;

export function formatField(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${seg}` : seg;
  }
  return out;
}

export function childField(parent: string, seg: PathSegment): string {
  if (typeof seg === 'number') return `${parent}[${seg}]`;
  return parent ? `${parent}.${seg}` : seg;
}

/** The enclosing field, or null at the root: `a.b[2]` -> `a.b` -> `a` -> ''. */
export function parentField(field: string): string | null {
  if (field === '') return null;
  const m = /(?:\.[^.[\]]*|\[\d+\])$/.exec(field);
  return m ? field.slice(0, m.index) : '';
}
