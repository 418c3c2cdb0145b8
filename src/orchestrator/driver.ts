/** The local cloud as an orchestrator driver: what the CLI and the controller get. */
import type { OrchestratorDriver } from './lifecycle.js';
import { downCloud, LocalCloud, type LocalCloudEnv } from './local-cloud.js';

export function localCloud(env: LocalCloudEnv): OrchestratorDriver {
  return {
    async up(spec, prepare) {
      const d = prepare(spec);
      return LocalCloud.up(d.app, d.addressing, spec.descriptor, {
        ...env,
        mode: spec.mode,
        policies: spec.policies,
        strategy: spec.strategy,
        downMonitors: spec.downMonitors,
        broker: spec.broker,
        agents: spec.agents,
        controller: spec.controller,
        ...(spec.inlineMode ? { inlineMode: spec.inlineMode } : {}),
        ...(spec.inlineWorkers ? { inlineWorkers: spec.inlineWorkers } : {}),
        ...(spec.dataplane ? { dataplane: spec.dataplane } : {}),
        desired: d.desired,
        monitorCommand: d.monitorCommand,
        monitorSetup: d.monitorSetup,
        agentCommand: d.agentCommand,
        relayCommand: d.relayCommand,
        controllerCommand: d.controllerCommand,
        summary: d.summary,
        prepare,
      });
    },
    async attach(app, prepare) {
      return LocalCloud.attach(app, prepare, env);
    },
    down(app) {
      return downCloud(app, env);
    },
  };
}
