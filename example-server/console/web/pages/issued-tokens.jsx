import { useState } from 'preact/hooks';
import { formatTime, Notice, TextField, useLoad } from '../components.jsx';

/** The audit list of issued tokens: who got one from which IdP and when. Never a token value. */
export function IssuedTokensPage({ api }) {
  const [draft, setDraft] = useState({ idp: '', sub: '', clientId: '' });
  const [filters, setFilters] = useState(draft);
  const rows = useLoad(() => api.get('/issued-tokens', { query: filters }), [api, filters]);
  const field = (name) => (value) => setDraft({ ...draft, [name]: value });
  return (
    <>
      <form
        class="card filters"
        onSubmit={(e) => {
          e.preventDefault();
          setFilters({ ...draft });
        }}
      >
        <TextField id="filter-idp" label="Identity provider" value={draft.idp} onInput={field('idp')} />
        <TextField id="filter-sub" label="Subject" value={draft.sub} onInput={field('sub')} />
        <TextField id="filter-client" label="Client ID" value={draft.clientId} onInput={field('clientId')} />
        <div class="buttons">
          <button type="submit">Filter</button>
          <button
            type="button"
            class="secondary"
            onClick={() => {
              const empty = { idp: '', sub: '', clientId: '' };
              setDraft(empty);
              setFilters(empty);
            }}
          >
            Clear
          </button>
        </div>
      </form>
      <Notice kind="error">{rows.error?.message}</Notice>
      {rows.data && rows.data.length === 0 && (
        <p>No tokens issued{filters.idp || filters.sub || filters.clientId ? ' that match these filters' : ' in this tenant yet'}.</p>
      )}
      {rows.data && rows.data.length > 0 && (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Issued tokens, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Issued</th>
                <th scope="col">Identity provider</th>
                <th scope="col">Subject</th>
                <th scope="col">Client ID</th>
                <th scope="col">Trust rule</th>
                <th scope="col">Scope</th>
                <th scope="col">JWT ID</th>
                <th scope="col">Expires</th>
                <th scope="col">Revoked</th>
              </tr>
            </thead>
            <tbody>
              {rows.data.map((r) => (
                <tr key={r.id}>
                  <td>{formatTime(r.issuedAt)}</td>
                  <td>{r.idp}</td>
                  <td>{r.subject}</td>
                  <td class="mono">{r.clientId}</td>
                  <td>{r.rule || <span class="muted">none</span>}</td>
                  <td>{r.scope || <span class="muted">none</span>}</td>
                  <td class="mono break">{r.jti || <span class="muted">none</span>}</td>
                  <td>{formatTime(r.expiresAt)}</td>
                  <td>{r.revokedAt ? formatTime(r.revokedAt) : <span class="muted">no</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
