import { useState } from 'preact/hooks';
import { ApiError, decodeJwt, fieldRoot } from '../api.js';
import { Notice, TextArea, TextField } from '../components.jsx';

const FIELD_IDS = { assertion: 'validate-assertion', clientId: 'validate-client-id', scope: 'validate-scope' };

/** The dry run: the token endpoint's verdict on an assertion, without using it up. */
export function ValidatePage({ api }) {
  const [assertion, setAssertion] = useState('');
  const [clientId, setClientId] = useState('');
  const [scope, setScope] = useState('');
  const [result, setResult] = useState(null);
  const [errors, setErrors] = useState({});
  const [formError, setFormError] = useState('');
  const [busy, setBusy] = useState(false);

  const submit = async (e) => {
    e.preventDefault();
    setErrors({});
    setFormError('');
    setBusy(true);
    try {
      const body = { assertion: assertion.trim() };
      if (clientId.trim()) body.clientId = clientId.trim();
      if (scope.trim()) body.scope = scope.trim();
      const answer = await api.post('/assertions/validate', body);
      setResult({ answer, decoded: decodeJwt(body.assertion) });
    } catch (error) {
      setResult(null);
      const id = error instanceof ApiError ? FIELD_IDS[fieldRoot(error.field)] : undefined;
      if (id) setErrors({ [id]: error.message });
      else setFormError(error.message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <form class="card" onSubmit={submit} noValidate>
        <p>Asks the token endpoint's rules about an assertion without using it: nothing is recorded, so its jti is not burnt.</p>
        <Notice kind="error">{formError}</Notice>
        <TextArea
          id="validate-assertion"
          label="Assertion"
          rows={6}
          spellcheck={false}
          value={assertion}
          onInput={setAssertion}
          error={errors['validate-assertion']}
          hint="The signed JWT (header.payload.signature)."
        />
        <TextField
          id="validate-client-id"
          label="Client ID (optional)"
          value={clientId}
          onInput={setClientId}
          error={errors['validate-client-id']}
          hint="The Consumer Key that would send it: judges the IdP's allowed clients."
        />
        <TextField id="validate-scope" label="Scope (optional)" value={scope} onInput={setScope} error={errors['validate-scope']} />
        <button type="submit" disabled={busy}>
          Validate
        </button>
      </form>
      {result && <Verdict {...result} />}
    </>
  );
}

function Verdict({ answer, decoded }) {
  const verified = Boolean(answer.claims);
  const header = answer.header ?? decoded?.header;
  const claims = answer.claims ?? decoded?.claims;
  return (
    <section aria-labelledby="verdict-heading" class={`card verdict ${answer.valid ? 'ok' : 'bad'}`} aria-live="polite">
      <h2 id="verdict-heading">{answer.valid ? 'Valid' : 'Refused'}</h2>
      {answer.valid ? (
        <p>
          The token endpoint would accept this assertion{answer.idp ? ` from ${answer.idp.name}` : ''} (signature key {answer.keyId}).
        </p>
      ) : (
        <p>
          Reason <code class="reason">{answer.reason}</code>: <span class="description">{answer.description}</span>
        </p>
      )}
      {answer.alreadyUsed && <p>Its jti is already recorded: the token endpoint refuses it until the assertion expires.</p>}
      {answer.notChecked?.length > 0 && <p class="muted">Not judged here: {answer.notChecked.join(', ')}.</p>}
      {header || claims ? (
        <div class="decoded">
          <div>
            <h3>Header {verified ? '(verified)' : '(decoded, not verified)'}</h3>
            <pre>{JSON.stringify(header, null, 2)}</pre>
          </div>
          <div>
            <h3>Claims {verified ? '(verified)' : '(decoded, not verified)'}</h3>
            <pre>{JSON.stringify(claims, null, 2)}</pre>
          </div>
        </div>
      ) : (
        <p class="muted">The assertion cannot be decoded as a JWT.</p>
      )}
    </section>
  );
}
