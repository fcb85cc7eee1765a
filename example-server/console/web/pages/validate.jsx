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
      {answer.rule && (
        <p class="admitted">
          Admitted by trust rule <strong>{answer.rule}</strong>.
        </p>
      )}
      {answer.shadow && (
        <p class="shadow-verdict">
          Shadow rules: {answer.shadow.decision === 'would_allow' ? `would allow (rule ${answer.shadow.rule})` : 'would deny'}; not
          enforced.
        </p>
      )}
      {answer.rules?.length > 0 && <RuleResults rules={answer.rules} />}
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

/** Each trust rule of the IdP, in evaluation order: whether it matched, and if not, what failed. */
function RuleResults({ rules }) {
  return (
    <div class="rule-results">
      <h3 id="rule-results-heading">Trust rules</h3>
      <div class="table-wrap">
        <table aria-labelledby="rule-results-heading">
          <thead>
            <tr>
              <th scope="col">Rule</th>
              <th scope="col">Mode</th>
              <th scope="col">Result</th>
              <th scope="col">Why</th>
            </tr>
          </thead>
          <tbody>
            {rules.map((r) => (
              <tr key={r.name}>
                <th scope="row">{r.name}</th>
                <td>{r.mode}</td>
                <td>
                  <span class={`badge ${r.matched ? 'ok' : 'bad'}`}>{r.matched ? 'matched' : 'not matched'}</span>
                </td>
                <td>
                  <RuleWhy rule={r} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

function RuleWhy({ rule }) {
  if (rule.matched) {
    if (typeof rule.subject !== 'string') return <span>Matched.</span>;
    return (
      <span>
        Subject <code class="subject">{rule.subject}</code>
      </span>
    );
  }
  const parts = [];
  if (rule.clientAllowed === false) parts.push(<span key="client">The client is not in the rule's clients.</span>);
  if (rule.failed) {
    parts.push(
      <span key="failed">
        Condition not true: <code class="failed">{rule.failed.expression}</code>{' '}
        <span class="muted">
          (characters {rule.failed.start}–{rule.failed.end})
        </span>
      </span>,
    );
  }
  if (rule.error) parts.push(<span key="error">Error: {rule.error}</span>);
  if (parts.length === 0) parts.push(<span key="none">Not matched.</span>);
  return <div class="why">{parts}</div>;
}
