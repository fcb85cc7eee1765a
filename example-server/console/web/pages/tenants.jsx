import { useState } from 'preact/hooks';
import { ApiError } from '../api.js';
import { formatTime, Notice, TextField, useLoad } from '../components.jsx';

/** Tenants (WSO2's tenant domains); the selector at the top chooses the one every page works in. */
export function TenantsPage({ api, onTenantsChanged }) {
  const list = useLoad(() => api.get('/tenants', { tenantScoped: false }), [api]);
  const [domain, setDomain] = useState('');
  const [error, setError] = useState('');
  const [message, setMessage] = useState('');
  const submit = async (e) => {
    e.preventDefault();
    setError('');
    setMessage('');
    try {
      const created = await api.post('/tenants', { domain: domain.trim() }, { tenantScoped: false });
      setMessage(`Tenant ${created.domain} created. Choose it in the Tenant selector to work in it.`);
      setDomain('');
      list.reload();
      onTenantsChanged();
    } catch (err) {
      setError(err instanceof ApiError || err instanceof Error ? err.message : String(err));
    }
  };
  return (
    <>
      <form class="card inline-form" onSubmit={submit} noValidate>
        <TextField
          id="tenant-domain"
          label="Tenant domain"
          value={domain}
          onInput={setDomain}
          error={error}
          hint="A DNS-style name such as example.com; requests name it as ?tenantDomain=example.com."
        />
        <button type="submit">Create tenant</button>
      </form>
      <Notice>{message}</Notice>
      <Notice kind="error">{list.error?.message}</Notice>
      {list.data && (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Tenant domain</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {list.data.map((t) => (
                <tr key={t.id}>
                  <th scope="row">{t.domain}</th>
                  <td>{formatTime(t.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
