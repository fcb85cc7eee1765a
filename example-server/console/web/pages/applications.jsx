import { useState } from 'preact/hooks';
import { ApiError, curlCommand, fieldRoot } from '../api.js';
import { CopyField, formatTime, Notice, SelectField, TextField, useLoad } from '../components.jsx';

const GRANTS = [
  { value: 'urn:ietf:params:oauth:grant-type:jwt-bearer', label: 'JWT Bearer (urn:ietf:params:oauth:grant-type:jwt-bearer)' },
  { value: 'refresh_token', label: 'Refresh token' },
  { value: 'client_credentials', label: 'Client credentials' },
];
const FIELD_IDS = { owner: 'app-owner', name: 'app-name', keyType: 'app-key-type', grants: 'app-grants', scopes: 'app-scopes' };

/**
 * WSO2's "generate keys" for an application: the service provider `<owner>_<name>_<key type>` with a
 * consumer key and secret (the secret is shown once), and the WSO2 page's curl command.
 */
export function ApplicationsPage({ api, tenant, tokenEndpointUrl }) {
  const list = useLoad(() => api.get('/applications'), [api]);
  const [form, setForm] = useState({ owner: 'admin', name: '', keyType: 'PRODUCTION', grants: GRANTS.map((g) => g.value), scopes: '' });
  const [errors, setErrors] = useState({});
  const [formError, setFormError] = useState('');
  const [created, setCreated] = useState(null);
  const [busy, setBusy] = useState(false);
  const field = (name) => (value) => setForm({ ...form, [name]: value });

  const submit = async (e) => {
    e.preventDefault();
    setErrors({});
    setFormError('');
    setBusy(true);
    try {
      const scopes = form.scopes.split(/\s+/).filter(Boolean);
      const body = { owner: form.owner.trim(), name: form.name.trim(), keyType: form.keyType, grants: form.grants };
      if (scopes.length > 0) body.scopes = scopes;
      setCreated(await api.post('/applications', body));
      list.reload();
    } catch (error) {
      const id = error instanceof ApiError ? FIELD_IDS[fieldRoot(error.field)] : undefined;
      if (id) {
        setErrors({ [id]: error.message });
        requestAnimationFrame(() => document.getElementById(id === 'app-grants' ? 'app-grant-0' : id)?.focus());
      } else setFormError(error.message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <section aria-labelledby="app-form-heading">
        <h2 id="app-form-heading">Generate keys</h2>
        <form class="card" onSubmit={submit} noValidate>
          <Notice kind="error">{formError}</Notice>
          <TextField id="app-owner" label="Owner" required value={form.owner} onInput={field('owner')} error={errors['app-owner']} />
          <TextField
            id="app-name"
            label="Application Name"
            required
            value={form.name}
            onInput={field('name')}
            error={errors['app-name']}
            hint="e.g. DemoApp"
          />
          <SelectField
            id="app-key-type"
            label="Key Type"
            value={form.keyType}
            onChange={field('keyType')}
            error={errors['app-key-type']}
            options={[
              { value: 'PRODUCTION', label: 'PRODUCTION' },
              { value: 'SANDBOX', label: 'SANDBOX' },
            ]}
          />
          <fieldset
            class={errors['app-grants'] ? 'has-error' : ''}
            aria-describedby={errors['app-grants'] ? 'app-grants-error' : undefined}
          >
            <legend>Grant types</legend>
            {GRANTS.map((g, i) => (
              <label key={g.value} class="inline block">
                <input
                  type="checkbox"
                  id={`app-grant-${i}`}
                  checked={form.grants.includes(g.value)}
                  onChange={(e) =>
                    field('grants')(e.currentTarget.checked ? [...form.grants, g.value] : form.grants.filter((v) => v !== g.value))
                  }
                />{' '}
                {g.label}
              </label>
            ))}
            {errors['app-grants'] && (
              <p class="field-error" id="app-grants-error">
                {errors['app-grants']}
              </p>
            )}
          </fieldset>
          <TextField
            id="app-scopes"
            label="Scopes"
            value={form.scopes}
            onInput={field('scopes')}
            error={errors['app-scopes']}
            hint="Space-separated scopes this application may ask for. Empty: any scope."
          />
          <button type="submit" disabled={busy}>
            Generate Keys
          </button>
        </form>
      </section>
      {created && <GeneratedKeys created={created} tenant={tenant} tokenEndpointUrl={tokenEndpointUrl} />}
      <section aria-labelledby="app-list-heading">
        <h2 id="app-list-heading">Service providers</h2>
        <Notice kind="error">{list.error?.message}</Notice>
        {list.data && list.data.length === 0 && <p>No applications in this tenant yet.</p>}
        {list.data && list.data.length > 0 && (
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Service provider</th>
                  <th scope="col">Consumer Key</th>
                  <th scope="col">Key type</th>
                  <th scope="col">Grant types</th>
                  <th scope="col">Scopes</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                {list.data.map((a) => (
                  <tr key={a.clientId}>
                    <th scope="row">{a.serviceProvider}</th>
                    <td class="mono">{a.clientId}</td>
                    <td>{a.keyType}</td>
                    <td>{a.grants.join(', ')}</td>
                    <td>{a.scopes ? a.scopes.join(' ') : <span class="muted">any</span>}</td>
                    <td>{formatTime(a.createdAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}

function GeneratedKeys({ created, tenant, tokenEndpointUrl }) {
  return (
    <section aria-labelledby="keys-heading" class="card generated">
      <h2 id="keys-heading">Keys of {created.serviceProvider}</h2>
      <p>
        Service provider: <strong class="mono">{created.serviceProvider}</strong>
      </p>
      <CopyField id="consumer-key" label="Consumer Key" value={created.clientId} />
      <CopyField id="consumer-secret" label="Consumer Secret" value={created.clientSecret} />
      <Notice kind="warning">The Consumer Secret is shown only now: copy it. Only its hash is stored.</Notice>
      <CopyField
        id="curl-command"
        label="curl command"
        multiline
        value={curlCommand({ clientId: created.clientId, clientSecret: created.clientSecret, tokenEndpointUrl, tenant })}
      />
      <p class="hint">Replace &lt;JWT&gt; with an assertion signed by your identity provider.</p>
    </section>
  );
}
