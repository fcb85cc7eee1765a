import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, certificateEntries, fieldRoot } from '../api.js';
import { Checkbox, FileField, formatTime, Notice, TextArea, TextField, useLoad } from '../components.jsx';

/** The admin API's default allow-list; none ticked means "the default list" (stored as null). */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

const lines = (text) =>
  text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
const words = (text) => text.split(/[\s,]+/).filter(Boolean);
/** A whole number as a number; anything else is sent as typed, so the API names the problem beside the field. */
const integer = (text) => (/^\d+$/.test(text.trim()) ? Number(text.trim()) : text.trim());

/** Which form field shows an API error about `field` (its first name). */
const FIELD_IDS = {
  name: 'idp-name',
  displayName: 'idp-display-name',
  certificates: 'idp-certificates',
  aliases: 'idp-aliases',
  jwksUri: 'idp-jwks-uri',
  algorithms: 'idp-algorithms',
  requireJti: 'idp-require-jti',
  maxAssertionLifetimeSeconds: 'idp-max-lifetime',
  iatMaxAgeSeconds: 'idp-iat-max-age',
  clockSkewSeconds: 'idp-clock-skew',
  allowedSubjects: 'idp-allowed-subjects',
  allowedClients: 'idp-allowed-clients',
  allowedScopes: 'idp-allowed-scopes',
  issueRefreshToken: 'idp-refresh',
  enabled: 'idp-enabled',
};

export function IdentityProvidersPage({ api }) {
  const [view, setView] = useState({ mode: 'list' });
  const [message, setMessage] = useState('');
  const list = useLoad(() => api.get('/identity-providers'), [api]);
  const back = (text = '') => {
    setMessage('');
    setView({ mode: 'list' });
    void list.reload().then(() => setMessage(text));
  };
  if (view.mode === 'add') return <IdpForm api={api} onDone={back} />;
  if (view.mode === 'edit') return <IdpEdit api={api} id={view.id} onDone={back} />;
  return (
    <section aria-labelledby="idp-list-heading">
      <div class="toolbar">
        <h2 id="idp-list-heading">Registered identity providers</h2>
        <button type="button" onClick={() => (setMessage(''), setView({ mode: 'add' }))}>
          Add
        </button>
      </div>
      <Notice>{message}</Notice>
      <Notice kind="error">{list.error?.message}</Notice>
      {list.data && (
        <IdpTable
          api={api}
          idps={list.data}
          onEdit={(id) => setView({ mode: 'edit', id })}
          onChanged={async (text) => {
            setMessage('');
            await list.reload();
            setMessage(text);
          }}
        />
      )}
    </section>
  );
}

function IdpTable({ api, idps, onEdit, onChanged }) {
  const [confirming, setConfirming] = useState(null);
  const [error, setError] = useState('');
  if (idps.length === 0) return <p>No identity providers in this tenant yet. Use “Add” to register the issuer of your assertions.</p>;
  const act = (promise, text) =>
    promise.then(
      async () => {
        setError('');
        setConfirming(null);
        await onChanged(text);
      },
      (e) => setError(e.message),
    );
  return (
    <div>
      <Notice kind="error">{error}</Notice>
      <div class="table-wrap">
        <table>
          <caption class="visually-hidden">Identity providers of this tenant</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Enabled</th>
              <th scope="col">Aliases</th>
              <th scope="col">Certificates</th>
              <th scope="col">JWKS URI</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {idps.map((idp) => (
              <tr key={idp.id}>
                <th scope="row">
                  {idp.name}
                  {idp.displayName && <div class="muted">{idp.displayName}</div>}
                </th>
                <td>{idp.enabled ? 'Enabled' : 'Disabled'}</td>
                <td>
                  {idp.aliases.length > 0 ? (
                    <ul class="plain">
                      {idp.aliases.map((a) => (
                        <li key={a}>{a}</li>
                      ))}
                    </ul>
                  ) : (
                    <span class="muted">none (the token endpoint URL)</span>
                  )}
                </td>
                <td>
                  {idp.certificates.length > 0 ? (
                    <ul class="plain">
                      {idp.certificates.map((c) => (
                        <CertificateSummary key={c.id} cert={c} />
                      ))}
                    </ul>
                  ) : (
                    <span class="muted">none</span>
                  )}
                </td>
                <td class="break">{idp.jwksUri || <span class="muted">none</span>}</td>
                <td class="actions">
                  {confirming === idp.id ? (
                    <ConfirmDelete
                      name={idp.name}
                      onConfirm={() => act(api.del(`/identity-providers/${idp.id}`), `Identity provider ${idp.name} deleted.`)}
                      onCancel={() => setConfirming(null)}
                    />
                  ) : (
                    <>
                      <button type="button" class="secondary" onClick={() => onEdit(idp.id)} aria-label={`Edit ${idp.name}`}>
                        Edit
                      </button>
                      <button
                        type="button"
                        class="secondary"
                        aria-label={`${idp.enabled ? 'Disable' : 'Enable'} ${idp.name}`}
                        onClick={() =>
                          act(
                            api.patch(`/identity-providers/${idp.id}`, { enabled: !idp.enabled }),
                            `Identity provider ${idp.name} ${idp.enabled ? 'disabled' : 'enabled'}.`,
                          )
                        }
                      >
                        {idp.enabled ? 'Disable' : 'Enable'}
                      </button>
                      <button type="button" class="danger" onClick={() => setConfirming(idp.id)} aria-label={`Delete ${idp.name}`}>
                        Delete
                      </button>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

/** The delete confirmation, in place of the row's buttons; focus moves to it so a keyboard user lands on the choice. */
function ConfirmDelete({ name, onConfirm, onCancel }) {
  const ref = useRef(null);
  useEffect(() => ref.current?.focus(), []);
  return (
    <div role="group" aria-label={`Confirm deleting ${name}`} class="confirm">
      <p>Delete {name}? Its refresh tokens stop working.</p>
      <button type="button" class="danger" ref={ref} onClick={onConfirm}>
        Confirm delete
      </button>
      <button type="button" class="secondary" onClick={onCancel}>
        Cancel
      </button>
    </div>
  );
}

function CertificateSummary({ cert, children }) {
  return (
    <li class="cert">
      <div>{cert.subject}</div>
      <div class="muted mono break">x5t#S256 {cert.thumbprint}</div>
      <div class="muted">
        {formatTime(cert.notBefore)} to {formatTime(cert.notAfter)}{' '}
        <span class={cert.currentlyValid ? 'badge ok' : 'badge bad'}>{cert.currentlyValid ? 'currently valid' : 'not valid now'}</span>
        {cert.kid && <span> kid {cert.kid}</span>}
      </div>
      {children}
    </li>
  );
}

function settingsState(idp) {
  return {
    name: idp?.name ?? '',
    displayName: idp?.displayName ?? '',
    jwksUri: idp?.jwksUri ?? '',
    algorithms: idp?.algorithms ?? [],
    requireJti: idp?.requireJti ?? true,
    maxAssertionLifetimeSeconds: idp ? String(idp.maxAssertionLifetimeSeconds) : '',
    iatMaxAgeSeconds: idp?.iatMaxAgeSeconds == null ? '' : String(idp.iatMaxAgeSeconds),
    clockSkewSeconds: idp ? String(idp.clockSkewSeconds) : '',
    allowedSubjects: (idp?.allowedSubjects ?? []).join('\n'),
    allowedClients: (idp?.allowedClients ?? []).join('\n'),
    allowedScopes: (idp?.allowedScopes ?? []).join(' '),
    issueRefreshToken: idp?.issueRefreshToken ?? true,
    enabled: idp?.enabled ?? true,
  };
}

/** The settings as an API body: on create, empty fields are left out (defaults); on edit, they reset to null. */
function settingsBody(s, editing) {
  const body = { name: s.name.trim() };
  const optional = (name, value, empty) => {
    if (!empty) body[name] = value;
    else if (editing) body[name] = null;
  };
  optional('displayName', s.displayName.trim(), s.displayName.trim() === '');
  optional('jwksUri', s.jwksUri.trim(), s.jwksUri.trim() === '');
  optional('algorithms', s.algorithms, s.algorithms.length === 0);
  body.requireJti = s.requireJti;
  if (s.maxAssertionLifetimeSeconds.trim() !== '') body.maxAssertionLifetimeSeconds = integer(s.maxAssertionLifetimeSeconds);
  optional('iatMaxAgeSeconds', integer(s.iatMaxAgeSeconds), s.iatMaxAgeSeconds.trim() === '');
  if (s.clockSkewSeconds.trim() !== '') body.clockSkewSeconds = integer(s.clockSkewSeconds);
  optional('allowedSubjects', lines(s.allowedSubjects), lines(s.allowedSubjects).length === 0);
  optional('allowedClients', lines(s.allowedClients), lines(s.allowedClients).length === 0);
  optional('allowedScopes', words(s.allowedScopes), words(s.allowedScopes).length === 0);
  body.issueRefreshToken = s.issueRefreshToken;
  body.enabled = s.enabled;
  return body;
}

/** Shows an API error beside its field (and focuses it), or at the top of the form. */
function useFieldErrors() {
  const [errors, setErrors] = useState({});
  const [formError, setFormError] = useState('');
  return {
    errors,
    formError,
    clear: () => (setErrors({}), setFormError('')),
    show: (error) => {
      const id = error instanceof ApiError ? FIELD_IDS[fieldRoot(error.field)] : undefined;
      if (id) {
        setErrors({ [id]: error.message });
        setFormError('');
        requestAnimationFrame(() => {
          const target = document.getElementById(id === 'idp-algorithms' ? 'idp-alg-RS256' : id);
          target?.closest('details')?.setAttribute('open', '');
          target?.focus();
        });
      } else {
        setErrors({});
        setFormError(error.message);
      }
    },
  };
}

function SettingsFields({ s, set, errors, children }) {
  const field = (name) => (value) => set({ ...s, [name]: value });
  return (
    <>
      <TextField
        id="idp-name"
        label="Identity Provider Name"
        required
        value={s.name}
        onInput={field('name')}
        error={errors['idp-name']}
        hint="The JWT issuer: the exact value of the assertions' iss claim (e.g. jwtIDP)."
      />
      {children}
      <details class="advanced">
        <summary>Advanced settings</summary>
        <TextField
          id="idp-display-name"
          label="Display name"
          value={s.displayName}
          onInput={field('displayName')}
          error={errors['idp-display-name']}
        />
        <TextField
          id="idp-jwks-uri"
          label="JWKS URI"
          type="url"
          value={s.jwksUri}
          onInput={field('jwksUri')}
          error={errors['idp-jwks-uri']}
          hint="Keys fetched from the IdP instead of (or besides) certificates: https:, or http: on localhost only."
        />
        <fieldset
          class={errors['idp-algorithms'] ? 'has-error' : ''}
          aria-describedby={errors['idp-algorithms'] ? 'idp-algorithms-error' : 'idp-algorithms-hint'}
        >
          <legend>Algorithms</legend>
          <div class="checks">
            {ALGORITHMS.map((alg) => (
              <label key={alg} class="inline">
                <input
                  type="checkbox"
                  id={`idp-alg-${alg}`}
                  checked={s.algorithms.includes(alg)}
                  onChange={(e) =>
                    set({ ...s, algorithms: e.currentTarget.checked ? [...s.algorithms, alg] : s.algorithms.filter((a) => a !== alg) })
                  }
                />{' '}
                {alg}
              </label>
            ))}
          </div>
          <p class="hint" id="idp-algorithms-hint">
            None ticked: the default list (all of these).
          </p>
          {errors['idp-algorithms'] && (
            <p class="field-error" id="idp-algorithms-error">
              {errors['idp-algorithms']}
            </p>
          )}
        </fieldset>
        <Checkbox
          id="idp-require-jti"
          label="Require jti"
          checked={s.requireJti}
          onChange={field('requireJti')}
          error={errors['idp-require-jti']}
          hint="Without a jti, replay is keyed on the signed content."
        />
        <TextField
          id="idp-max-lifetime"
          label="Max assertion lifetime (seconds)"
          inputmode="numeric"
          value={s.maxAssertionLifetimeSeconds}
          onInput={field('maxAssertionLifetimeSeconds')}
          error={errors['idp-max-lifetime']}
          hint="Longest exp − now (or exp − iat) accepted; default 86400."
        />
        <TextField
          id="idp-iat-max-age"
          label="iat max age (seconds)"
          inputmode="numeric"
          value={s.iatMaxAgeSeconds}
          onInput={field('iatMaxAgeSeconds')}
          error={errors['idp-iat-max-age']}
          hint="Empty: iat age is not limited."
        />
        <TextField
          id="idp-clock-skew"
          label="Clock skew (seconds)"
          inputmode="numeric"
          value={s.clockSkewSeconds}
          onInput={field('clockSkewSeconds')}
          error={errors['idp-clock-skew']}
          hint="Leeway for exp, nbf and iat; default 60."
        />
        <TextArea
          id="idp-allowed-subjects"
          label="Allowed subjects"
          value={s.allowedSubjects}
          onInput={field('allowedSubjects')}
          error={errors['idp-allowed-subjects']}
          hint="One per line. Empty: any subject."
        />
        <TextArea
          id="idp-allowed-clients"
          label="Allowed clients"
          value={s.allowedClients}
          onInput={field('allowedClients')}
          error={errors['idp-allowed-clients']}
          hint="Consumer keys, one per line. Empty: any client."
        />
        <TextField
          id="idp-allowed-scopes"
          label="Allowed scopes"
          value={s.allowedScopes}
          onInput={field('allowedScopes')}
          error={errors['idp-allowed-scopes']}
          hint="Space-separated. Empty: any scope."
        />
        <Checkbox
          id="idp-refresh"
          label="Issue refresh tokens"
          checked={s.issueRefreshToken}
          onChange={field('issueRefreshToken')}
          error={errors['idp-refresh']}
        />
        <Checkbox id="idp-enabled" label="Enabled" checked={s.enabled} onChange={field('enabled')} error={errors['idp-enabled']} />
      </details>
    </>
  );
}

/** "Add": the WSO2 page's form (name, certificate, alias) plus the advanced settings; "Register". */
function IdpForm({ api, onDone }) {
  const [s, set] = useState(settingsState(null));
  const [files, setFiles] = useState([]);
  const [aliases, setAliases] = useState('');
  const [busy, setBusy] = useState(false);
  const errs = useFieldErrors();
  const submit = async (e) => {
    e.preventDefault();
    errs.clear();
    setBusy(true);
    try {
      const certificates = (await Promise.all(files.map(certificateEntries))).flat();
      const body = { ...settingsBody(s, false), certificates, aliases: lines(aliases) };
      const created = await api.post('/identity-providers', body);
      onDone(`Identity provider ${created.name} registered.`);
    } catch (error) {
      errs.show(error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="idp-add-heading">
      <h2 id="idp-add-heading">Add identity provider</h2>
      <form onSubmit={submit} class="card" noValidate>
        <Notice kind="error">{errs.formError}</Notice>
        <SettingsFields s={s} set={set} errors={errs.errors}>
          <FileField
            id="idp-certificates"
            label="Identity Provider Public Certificate"
            onFiles={setFiles}
            error={errs.errors['idp-certificates']}
            hint="The certificate that verifies the assertions' signatures: DER (as keytool -export writes wso2.crt) or PEM; .crt, .cer or .pem. You may choose several."
          />
          <TextArea
            id="idp-aliases"
            label="Alias"
            rows={2}
            value={aliases}
            onInput={setAliases}
            error={errs.errors['idp-aliases']}
            hint="The audience (aud) by which the IdP names this token endpoint, e.g. https://localhost:9443/oauth2/token. One per line."
          />
        </SettingsFields>
        <div class="buttons">
          <button type="submit" disabled={busy}>
            Register
          </button>
          <button type="button" class="secondary" onClick={() => onDone('')}>
            Cancel
          </button>
        </div>
      </form>
    </section>
  );
}

/** Edit: the settings (PATCH), and certificates and aliases one at a time (their sub-resources). */
function IdpEdit({ api, id, onDone }) {
  const loaded = useLoad(() => api.get(`/identity-providers/${id}`), [api, id]);
  if (loaded.error) return <Notice kind="error">{loaded.error.message}</Notice>;
  if (!loaded.data) return <p aria-live="polite">Loading…</p>;
  return <IdpEditForm api={api} idp={loaded.data} onDone={onDone} reload={loaded.reload} />;
}

function IdpEditForm({ api, idp, onDone, reload }) {
  const [s, set] = useState(settingsState(idp));
  const [busy, setBusy] = useState(false);
  const errs = useFieldErrors();
  const [keysMessage, setKeysMessage] = useState('');
  const [keysError, setKeysError] = useState({});
  const [newAlias, setNewAlias] = useState('');
  const [files, setFiles] = useState([]);
  const fileInput = useRef(null);
  const base = `/identity-providers/${idp.id}`;

  const save = async (e) => {
    e.preventDefault();
    errs.clear();
    setBusy(true);
    try {
      const updated = await api.patch(base, settingsBody(s, true));
      onDone(`Identity provider ${updated.name} saved.`);
    } catch (error) {
      errs.show(error);
    } finally {
      setBusy(false);
    }
  };
  const keyAction = async (run, text, field) => {
    setKeysError({});
    try {
      await run();
      setKeysMessage('');
      await reload();
      setKeysMessage(text);
    } catch (error) {
      setKeysMessage('');
      setKeysError({ [field]: error.message });
    }
  };
  const uploadCertificates = (e) => {
    e.preventDefault();
    void keyAction(
      async () => {
        if (files.length === 0) throw new Error('Choose a certificate file first.');
        for (const entry of (await Promise.all(files.map(certificateEntries))).flat())
          await api.post(`${base}/certificates`, { pem: entry });
        setFiles([]);
        if (fileInput.current) fileInput.current.value = '';
      },
      'Certificate added.',
      'cert',
    );
  };
  const addAlias = (e) => {
    e.preventDefault();
    void keyAction(
      async () => {
        await api.post(`${base}/aliases`, { alias: newAlias.trim() });
        setNewAlias('');
      },
      'Alias added.',
      'alias',
    );
  };

  return (
    <section aria-labelledby="idp-edit-heading">
      <h2 id="idp-edit-heading">Edit {idp.name}</h2>
      <div class="card">
        <h3>Certificates</h3>
        {idp.certificates.length === 0 && (
          <p class="muted">
            No certificates{idp.jwksUri ? ': keys come from the JWKS URI.' : ': this IdP verifies nothing until one is added.'}
          </p>
        )}
        <ul class="plain">
          {idp.certificates.map((c) => (
            <CertificateSummary key={c.id} cert={c}>
              <button
                type="button"
                class="danger small"
                aria-label={`Remove certificate ${c.subject} ${c.thumbprint.slice(0, 8)}`}
                onClick={() => keyAction(() => api.del(`${base}/certificates/${c.id}`), 'Certificate removed.', 'cert')}
              >
                Remove
              </button>
            </CertificateSummary>
          ))}
        </ul>
        <form onSubmit={uploadCertificates} class="inline-form" noValidate>
          <FileField
            id="idp-add-certificate"
            label="Identity Provider Public Certificate"
            inputRef={fileInput}
            onFiles={setFiles}
            error={keysError.cert}
            hint="DER or PEM (.crt, .cer, .pem)."
          />
          <button type="submit" class="secondary">
            Upload certificate
          </button>
        </form>
        <h3>Aliases</h3>
        <ul class="plain">
          {idp.aliases.map((a) => (
            <li key={a} class="alias">
              <span class="break">{a}</span>{' '}
              <button
                type="button"
                class="danger small"
                aria-label={`Remove alias ${a}`}
                onClick={() => keyAction(() => api.del(`${base}/aliases/${encodeURIComponent(a)}`), 'Alias removed.', 'alias')}
              >
                Remove
              </button>
            </li>
          ))}
        </ul>
        <form onSubmit={addAlias} class="inline-form" noValidate>
          <TextField id="idp-add-alias" label="Alias" value={newAlias} onInput={setNewAlias} error={keysError.alias} />
          <button type="submit" class="secondary">
            Add alias
          </button>
        </form>
        <Notice>{keysMessage}</Notice>
      </div>
      <form onSubmit={save} class="card" noValidate>
        <h3>Settings</h3>
        <Notice kind="error">{errs.formError}</Notice>
        <SettingsFields s={s} set={set} errors={errs.errors} />
        <div class="buttons">
          <button type="submit" disabled={busy}>
            Save changes
          </button>
          <button type="button" class="secondary" onClick={() => onDone('')}>
            Back to the list
          </button>
        </div>
      </form>
    </section>
  );
}
