// Login with a token, then the application picker.
import { ApiError, listApps, token, whoami } from './api.js';
import { $, h, show } from './dom.js';

/** Shows the login form; resolves with whoami once a token is accepted (kept in sessionStorage). */
export function login(message = '') {
  const form = $('[data-testid=login-form]');
  const input = $('[data-testid=login-token]');
  const error = $('[data-testid=login-error]');
  show($('#login'), true);
  error.textContent = message;
  show(error, message !== '');
  input.focus();
  return new Promise((resolve) => {
    form.onsubmit = async (ev) => {
      ev.preventDefault();
      const t = input.value.trim();
      if (!t) return;
      const submit = $('[data-testid=login-submit]');
      submit.disabled = true;
      try {
        const me = await whoami(t);
        token.set(t);
        input.value = '';
        show(error, false);
        show($('#login'), false);
        form.onsubmit = null;
        resolve(me);
      } catch (e) {
        error.textContent = e instanceof ApiError && e.status === 401 ? `401 — token refused: ${e.message}` : `cannot log in: ${e.message}`;
        show(error, true);
      } finally {
        submit.disabled = false;
      }
    };
  });
}

/**
 * Lists the applications the token may see; resolves with the chosen one's name (at once with
 * `wanted`, the one in the address, when the token sees it).
 */
export async function pickApp(me, wanted) {
  const root = $('#picker');
  const list = $('[data-testid=app-picker]');
  const who = me.operator ? 'operator (all tenants)' : `tenant ${me.tenant}`;
  $('#picker-who').textContent = `Signed in as ${me.token?.name ?? 'token'} — ${who}`;
  list.replaceChildren(h('li', { class: 'muted', text: 'loading…' }));
  show(root, true);
  const { apps } = await listApps();
  if (wanted && apps.some((a) => a.name === wanted)) {
    show(root, false);
    return wanted;
  }
  return new Promise((resolve) => {
    const choose = (name) => {
      show(root, false);
      resolve(name);
    };
    list.replaceChildren(
      ...(apps.length === 0 ? [h('li', { class: 'muted', text: 'No application deployed yet.' })] : []),
      ...apps.map((a) =>
        h(
          'li',
          {},
          h(
            'button',
            { class: 'app-option', dataset: { testid: 'app-option', app: a.name }, onclick: () => choose(a.name) },
            h('strong', { text: a.name }),
            h('span', { class: `badge mode-${a.mode}`, text: a.mode }),
            h(
              'span',
              { class: 'muted' },
              `${a.tenant} · ${a.services} services · ${a.instances} instances on ${a.nodes.length} nodes · controller ${a.controller?.running ? (a.controller.dryRun ? 'dry run' : 'running') : 'stopped'}`,
            ),
            a.quarantined.length ? h('span', { class: 'badge quarantined', text: `${a.quarantined.length} quarantined` }) : null,
          ),
        ),
      ),
    );
  });
}
