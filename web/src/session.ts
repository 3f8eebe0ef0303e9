/**
 * Who is signed in, as the hub says (GET /api/v1/session). The pages and the menu show only
 * what the role may reach; the hub enforces it anyway (hub/api/access.ts), the app only avoids
 * offering what would be refused.
 */
import { reactive } from 'vue';
import { ApiError, api } from './api';

export type Role = 'admin' | 'operator' | 'bureau' | 'enterprise' | 'child-hub';
/** The hub's access levels (hub/api/access.ts). */
export type Access = 'aggregate' | 'fleet' | 'telemetry' | 'manage' | 'admin';

export interface Principal {
  readonly name: string;
  readonly role: Role;
  readonly regions: readonly string[];
  readonly enterprise?: string;
  /** The access levels this principal reaches, as the hub decides them. */
  readonly access: readonly Access[];
}

export const session = reactive<{ principal: Principal | undefined; checked: boolean }>({
  principal: undefined,
  checked: false,
});

export function may(access: Access): boolean {
  return session.principal?.access.includes(access) ?? false;
}

/** Asks the hub who this browser is; undefined when not signed in. */
export async function refreshSession(): Promise<Principal | undefined> {
  try {
    session.principal = await api<Principal>('/api/v1/session', { expectUnauthorized: true });
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 401) throw err;
    session.principal = undefined;
  } finally {
    session.checked = true;
  }
  return session.principal;
}

export async function signIn(name: string, password: string): Promise<Principal> {
  const p = await api<Principal>('/api/v1/session', {
    method: 'POST',
    body: { name, password },
    expectUnauthorized: true,
  });
  session.principal = p;
  session.checked = true;
  return p;
}

export async function signOut(): Promise<void> {
  try {
    await api<void>('/api/v1/session', { method: 'DELETE', expectUnauthorized: true });
  } finally {
    session.principal = undefined;
  }
}
