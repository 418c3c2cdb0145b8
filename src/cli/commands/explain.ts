import { diag, formatLocation, FlowtapError } from '../../diagnostics/index.js';
import { explainConnection, inferFirewall, loadRuleset, type ChainVerdict } from '../../firewall/index.js';
import { EXTERNAL } from '../../model/index.js';
import { CliCode } from '../codes.js';
import { EXIT_OK, need, type Io } from '../exit.js';
import { loadAppArg } from '../load.js';
import type { ServicePort } from '../options.js';

export interface ExplainOptions {
  /** A service, or "external". */
  from: string;
  to: ServicePort;
  /** Explain against this ruleset instead of the inferred one. */
  rules?: string;
  json?: boolean;
}

export function cmdExplain(io: Io, appArg: string, o: ExplainOptions): number {
  const { app, addressing } = loadAppArg(appArg);
  const { service: toService, port: portText } = o.to;
  const svc = app.services.find((s) => s.name === toService);
  if (!svc)
    throw new FlowtapError(
      diag(CliCode.OPTION, `--to: unknown service "${toService}" (have ${app.services.map((s) => s.name).join(', ')})`, { field: '--to' }),
    );
  if (o.from !== EXTERNAL && !app.services.some((s) => s.name === o.from))
    throw new FlowtapError(diag(CliCode.OPTION, `--from: unknown service "${o.from}" (or "external")`, { field: '--from' }));
  const port = svc.ports.find((p) => p.name === portText || String(p.port) === portText);
  const number = port?.port ?? Number(portText);
  if (!Number.isInteger(number) || number < 1 || number > 65535)
    throw new FlowtapError(
      diag(
        CliCode.OPTION,
        `--to: "${portText}" is neither a port name of ${toService} (${svc.ports.map((p) => p.name).join(', ')}) nor a port number`,
        { field: '--to' },
      ),
    );
  const ruleset = o.rules ? need(loadRuleset(o.rules, app)) : inferFirewall(app);
  const pairs = explainConnection(ruleset, app, addressing, o.from, toService, port?.protocol ?? 'tcp', number);
  if (o.json) {
    io.out(JSON.stringify(pairs, null, 2));
    return EXIT_OK;
  }
  const why = (v: ChainVerdict) => {
    if (v.defaulted)
      return `${v.chain}: ${v.action === 'drop' ? 'denied by the default (no rule matches)' : 'allowed by the default (chain not isolated)'}`;
    const req = v.requirement;
    const reqText = req
      ? `, from requirement #${req.id} (${req.from} -> ${req.to}:${req.port}${req.note ? `: ${req.note}` : ''})${req.loc ? ` at ${formatLocation(req.loc)}` : ''}`
      : '';
    return `${v.chain}: rule ${v.rule} ${v.action === 'accept' ? 'accepts' : 'drops'}${reqText}`;
  };
  for (const p of pairs) {
    io.out(`${p.from} -> ${p.to} ${p.protocol}/${p.port}: ${p.allowed ? 'ALLOWED' : 'DENIED'}`);
    if (p.egress) io.out(`  ${why(p.egress)}`);
    io.out(`  ${why(p.ingress)}`);
  }
  if (!pairs.length) io.out(`no instance pair: ${o.from} -> ${toService}`);
  return EXIT_OK;
}
