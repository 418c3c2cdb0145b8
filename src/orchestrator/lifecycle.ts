/**
 * Lifecycle events and management context: the one interface through which the
 * controller learns about instances, whether they run in the local cloud or come from
 * a Kubernetes API server.
 */
import type { Addressing } from '../model/index.js';

export type LifecycleType = 'deploying' | 'deployed' | 'failed' | 'terminated' | 'isolated' | 'released' | 'moved';

export interface LifecycleEvent {
  type: LifecycleType;
  instance: string;
  service: string;
  node: string;
  ts: string;
  detail?: string;
}

export interface ManagementContext {
  tenant: string;
  app: string;
  addressing: Addressing;
  /** Instance -> running / isolated / terminated. */
  status: Record<string, 'running' | 'isolated' | 'terminated'>;
}

export type LifecycleListener = (e: LifecycleEvent) => void;

export interface Orchestrator {
  onEvent(listener: LifecycleListener): () => void;
  context(): ManagementContext;
  isolate(instance: string): Promise<void>;
  release(instance: string): Promise<void>;
  terminate(instance: string): Promise<void>;
  redeploy(instance: string): Promise<void>;
  move(instance: string, node: string): Promise<void>;
}

export class EventHub {
  private listeners = new Set<LifecycleListener>();
  on(l: LifecycleListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  emit(e: Omit<LifecycleEvent, 'ts'>): void {
    const full = { ...e, ts: new Date().toISOString() };
    for (const l of this.listeners) l(full);
  }
}
