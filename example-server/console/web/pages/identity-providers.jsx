import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, certificateEntries, fieldRoot } from '../api.js';
import {
  Checkbox,
  ConfirmDelete,
  FileField,
  formatTime,
  Notice,
  SelectField,
  TextArea,
  TextField,
  useLoad,
  Warnings,
} from '../components.jsx';
import { integer, lines, words } from '../form-values.js';
import { TrustRules } from './trust-rules.jsx';

/** The admin API's default allow-list; none ticked means "the default list" (stored as null). */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

/** Which form field shows an API error about `field` (its first name). */
const FIELD_IDS = {
  name: 'idp-name',
  displayName: 'idp-display-name',
  certificates: 'idp-certificates',
  aliases: 'idp-aliases',
  jwksUri: 'idp-jwks-uri',
  discoveryUrl: 'idp-discovery-url',
  replayPolicy: 'idp-replay-policy',
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
  const [warnings, setWarnings] = useState([]);
  const list = useLoad(() => api.get('/identity-providers'), [api]);
  /** Back to the list, with what the last answer said: a sentence and its lint warnings. */
  const back = (text = '', answerWarnings = []) => {
    setMessage('');
    setWarnings([]);
    setView({ mode: 'list' });
    void list.reload().then(() => (setMessage(text), setWarnings(answerWarnings)));
  };
  if (view.mode === 'add') return <IdpForm api={api} onDone={back} />;
  if (view.mode === 'edit') return <IdpEdit api={api} id={view.id} focus={view.focus} onDone={back} />;
  return (
    <section aria-labelledby="idp-list-heading">
      <div class="toolbar">
        <h2 id="idp-list-heading">Registered identity providers</h2>
        <button type="button" onClick={() => (setMessage(''), setWarnings([]), setView({ mode: 'add' }))}>
          Add
        </button>
      </div>
      <Notice>{message}</Notice>
      <Warnings warnings={warnings} label={warnings.some((w) => w.rule) ? 'Warnings about its trust rules' : 'Warnings'} />
      <Notice kind="error">{list.error?.message}</Notice>
      {list.data && (
        <IdpTable
          api={api}
          idps={list.data}
          onEdit={(id, focus) => setView({ mode: 'edit', id, focus })}
          onChanged={async (text) => {
            setMessage('');
            setWarnings([]);
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
              <th scope="col">Key source</th>
              <th scope="col">Replay policy</th>
              <th scope="col">Trust rules</th>
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
                <td>
                  <KeySource idp={idp} />
                </td>
                <td>{idp.replayPolicy === 'reuse' ? 'reuse (≤ 1 h)' : 'once'}</td>
                <td>
                  <RulesSummary idp={idp} onOpen={() => onEdit(idp.id, 'rules')} />
                </td>
                <td>
                  {confirming === idp.id ? (
                    <ConfirmDelete
                      name={idp.name}
                      question={`Delete ${idp.name}? Its refresh tokens stop working.`}
                      onConfirm={() => act(api.del(`/identity-providers/${idp.id}`), `Identity provider ${idp.name} deleted.`)}
                      onCancel={() => setConfirming(null)}
                    />
                  ) : (
                    <div class="actions">
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
                    </div>
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

/** Where the IdP's keys come from besides its certificates: a JWKS URI, or OIDC discovery. */
function KeySource({ idp }) {
  if (idp.jwksUri) return <span class="break">JWKS URI {idp.jwksUri}</span>;
  if (idp.discoveryUrl) return <span class="break">OIDC discovery {idp.discoveryUrl}</span>;
  return <span class="muted">certificates only</span>;
}

/** How many rules (and in which mode), how many lint warnings, and the way to them. */
function RulesSummary({ idp, onOpen }) {
  const rules = idp.rules ?? [];
  const shadow = rules.filter((r) => r.mode === 'shadow').length;
  const warnings = idp.warnings ?? [];
  return (
    <div>
      {rules.length === 0 ? (
        <span class="muted">none</span>
      ) : (
        <span>
          {rules.length} {rules.length === 1 ? 'rule' : 'rules'}
          {shadow > 0 && ` (${shadow} shadow)`}
        </span>
      )}
      {warnings.length > 0 && (
        <div>
          <span class="badge warn">
            {warnings.length} {warnings.length === 1 ? 'warning' : 'warnings'}
          </span>
        </div>
      )}
      <div>
        <button type="button" class="secondary small" onClick={onOpen} aria-label={`Trust rules of ${idp.name}`}>
          Rules
        </button>
      </div>
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
    discovery: Boolean(idp?.discoveryUrl),
    discoveryUrl: idp?.discoveryUrl ?? '',
    replayPolicy: idp?.replayPolicy ?? 'once',
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
  // Ticked with no URL: `true`, the issuer's own /.well-known/openid-configuration (the API derives it).
  optional('discoveryUrl', s.discoveryUrl.trim() || true, !s.discovery);
  body.replayPolicy = s.replayPolicy;
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
        <Checkbox
          id="idp-discovery"
          label="Keys from OIDC discovery"
          checked={s.discovery}
          onChange={field('discovery')}
          hint="The JWKS named by the issuer's OpenID Connect discovery document, whose issuer must equal the IdP name exactly. Not together with a JWKS URI."
        />
        {s.discovery && (
          <TextField
            id="idp-discovery-url"
            label="Discovery URL"
            type="url"
            value={s.discoveryUrl}
            onInput={field('discoveryUrl')}
            error={errors['idp-discovery-url']}
            hint="Empty: <IdP name>/.well-known/openid-configuration (the name must then be an https: URL). Or the document's URL: https:, or http: on localhost only."
          />
        )}
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
        <SelectField
          id="idp-replay-policy"
          label="Replay policy"
          value={s.replayPolicy}
          onChange={field('replayPolicy')}
          error={errors['idp-replay-policy']}
          options={[
            { value: 'once', label: 'Once: each assertion gets one token' },
            { value: 'reuse', label: 'Reuse: the same assertion until it expires' },
          ]}
          hint="Reuse is for issuers that hand out one token many times (Kubernetes projected service account tokens). Nothing then stops a replay but the assertion's lifetime, so it is capped at one hour: the max assertion lifetime must be at most 3600 s (3600 when left empty on Register), and exp may be at most that far from now and from iat."
        />
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
          hint="Longest exp − now (or exp − iat) accepted; default 86400 (3600 with the reuse policy, which allows no more)."
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
      onDone(`Identity provider ${created.name} registered.`, created.warnings);
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
function IdpEdit({ api, id, focus, onDone }) {
  const loaded = useLoad(() => api.get(`/identity-providers/${id}`), [api, id]);
  if (loaded.error) return <Notice kind="error">{loaded.error.message}</Notice>;
  if (!loaded.data) return <p aria-live="polite">Loading…</p>;
  return <IdpEditForm api={api} idp={loaded.data} focus={focus} onDone={onDone} reload={loaded.reload} />;
}

function IdpEditForm({ api, idp, focus, onDone, reload }) {
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
      onDone(`Identity provider ${updated.name} saved.`, updated.warnings);
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
            No certificates
            {idp.jwksUri
              ? ': keys come from the JWKS URI.'
              : idp.discoveryUrl
                ? ': keys come from OIDC discovery.'
                : ': this IdP verifies nothing until one is added.'}
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
      <TrustRules api={api} idp={idp} reload={reload} focus={focus === 'rules'} />
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
