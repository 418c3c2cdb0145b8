import { EXIT_OK, type Io } from '../exit.js';
import { loadAppArg } from '../load.js';

export function cmdValidate(io: Io, appArg: string, json: boolean): number {
  const { app, file } = loadAppArg(appArg);
  if (json) {
    io.out(JSON.stringify({ ok: true, app }, null, 2));
    return EXIT_OK;
  }
  io.out(
    `${file}: ok — ${app.tenant}/${app.name}: ${app.services.length} services, ${app.instances.length} instances, ` +
      `${app.nodes.length} nodes, ${app.monitors.length} monitors, ${app.requirements.length} requirements`,
  );
  return EXIT_OK;
}
