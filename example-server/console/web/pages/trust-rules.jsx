import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, fieldRoot } from '../api.js';
import { ConfirmDelete, ExpressionField, Notice, SelectField, TextArea, TextField, useLoad, Warnings } from '../components.jsx';
import { integer, lines, words } from '../form-values.js';
import { fillTemplate, uniqueWarnings } from '../rules.js';

/** Which form field shows an API error about a rule's `field`. */
const FIELD_IDS = {
  name: 'rule-name',
  mode: 'rule-mode',
  condition: 'rule-condition',
  subject: 'rule-subject',
  clients: 'rule-clients',
  scopes: 'rule-scopes',
  position: 'rule-position',
};

/** Evaluation order, as the token endpoint uses it: position, then name. */
const inOrder = (rules) => [...rules].sort((a, b) => a.position - b.position || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

/**
 * An IdP's trust rules (docs/workload-identity.md): the list in evaluation order, add, edit and delete,
 * templates, and the lint warnings of the IdP's and the last rule's answers.
 */
export function TrustRules({ api, idp, reload, focus }) {
  const [form, setForm] = useState(null); // null | { rule: null } (add) | { rule } (edit)
  const [message, setMessage] = useState('');
  const [answerWarnings, setAnswerWarnings] = useState([]);
  const [confirming, setConfirming] = useState(null);
  const [error, setError] = useState('');
  const heading = useRef(null);
  const base = `/identity-providers/${idp.id}/rules`;
  const rules = inOrder(idp.rules ?? []);
  const warnings = uniqueWarnings(idp.warnings, answerWarnings);

  useEffect(() => {
    if (focus) heading.current?.focus();
  }, []);

  /** After a change: the IdP again (its rules and warnings), then the sentence, so it never sits beside old data. */
  const changed = async (text, newWarnings = []) => {
    setMessage('');
    setError('');
    setForm(null);
    setConfirming(null);
    setAnswerWarnings(newWarnings);
    await reload();
    setMessage(text);
    requestAnimationFrame(() => heading.current?.focus());
  };
  const remove = (rule) =>
    api.del(`${base}/${rule.id}`).then(
      () => changed(`Rule ${rule.name} deleted.`),
      (e) => setError(e.message),
    );

  return (
    <section class="card" aria-labelledby="rules-heading">
      <div class="toolbar">
        <h3 id="rules-heading" tabindex={-1} ref={heading}>
          Trust rules
        </h3>
        {!form && (
          <button type="button" onClick={() => (setMessage(''), setForm({ rule: null }))}>
            Add rule
          </button>
        )}
      </div>
      <p class="hint">
        With an enforced rule, an assertion of {idp.name} is accepted only when one rule matches: its clients list has the client (or is
        empty), its condition is true and its subject is a non-empty string. The first match by position, then name, wins; its name is
        audited. Shadow rules are evaluated and logged, never enforced: a way to try a rule on real traffic.
      </p>
      <Notice>{message}</Notice>
      <Notice kind="error">{error}</Notice>
      <Warnings warnings={warnings} />
      {rules.length === 0 ? (
        <p class="muted">No trust rules: every assertion that passes the checks above gets a token.</p>
      ) : (
        <div class="table-wrap">
          <table class="rules">
            <caption class="visually-hidden">Trust rules of {idp.name}, in evaluation order</caption>
            <thead>
              <tr>
                <th scope="col">Position</th>
                <th scope="col">Name</th>
                <th scope="col">Mode</th>
                <th scope="col">Condition</th>
                <th scope="col">Subject</th>
                <th scope="col">Clients</th>
                <th scope="col">Scopes</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {rules.map((rule) => (
                <tr key={rule.id}>
                  <td>{rule.position}</td>
                  <th scope="row">{rule.name}</th>
                  <td>
                    <span class={`badge ${rule.mode === 'shadow' ? 'shadow' : 'ok'}`}>{rule.mode}</span>
                  </td>
                  <td>
                    <code class="expression">{rule.condition}</code>
                  </td>
                  <td>{rule.subject ? <code class="expression">{rule.subject}</code> : <span class="muted">claims.sub</span>}</td>
                  <td>{rule.clients.length > 0 ? rule.clients.join(', ') : <span class="muted">any client</span>}</td>
                  <td>
                    {rule.scopes === null ? (
                      <span class="muted">no bound of its own</span>
                    ) : rule.scopes.length === 0 ? (
                      <span class="muted">none</span>
                    ) : (
                      rule.scopes.join(' ')
                    )}
                  </td>
                  <td>
                    {confirming === rule.id ? (
                      <ConfirmDelete
                        name={`rule ${rule.name}`}
                        question={`Delete rule ${rule.name}?`}
                        onConfirm={() => remove(rule)}
                        onCancel={() => setConfirming(null)}
                      />
                    ) : (
                      <div class="actions">
                        <button
                          type="button"
                          class="secondary small"
                          aria-label={`Edit rule ${rule.name}`}
                          onClick={() => (setMessage(''), setForm({ rule }))}
                        >
                          Edit
                        </button>
                        <button
                          type="button"
                          class="danger small"
                          aria-label={`Delete rule ${rule.name}`}
                          onClick={() => setConfirming(rule.id)}
                        >
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
      )}
      {form && (
        <RuleForm
          key={form.rule?.id ?? 'new'}
          api={api}
          idp={idp}
          rule={form.rule}
          base={base}
          onSaved={(answer, verb) => changed(`Rule ${answer.name} ${verb}.`, answer.warnings)}
          onCancel={() => setForm(null)}
        />
      )}
    </section>
  );
}

function ruleState(rule) {
  return {
    name: rule?.name ?? '',
    mode: rule?.mode ?? 'enforce',
    condition: rule?.condition ?? '',
    subject: rule?.subject ?? '',
    clients: (rule?.clients ?? []).join('\n'),
    scopes: rule?.scopes ? rule.scopes.join(' ') : '',
    position: rule ? String(rule.position) : '',
  };
}

function ruleBody(r) {
  const body = {
    name: r.name.trim(),
    mode: r.mode,
    condition: r.condition.trim(),
    subject: r.subject.trim() === '' ? null : r.subject.trim(),
    clients: lines(r.clients),
    scopes: words(r.scopes).length > 0 ? words(r.scopes) : null,
  };
  if (r.position.trim() !== '') body.position = integer(r.position);
  return body;
}

/** Add or edit one rule; a template fills in the condition and subject from the values typed for it. */
function RuleForm({ api, idp, rule, base, onSaved, onCancel }) {
  const [r, set] = useState(() => ruleState(rule));
  const [errors, setErrors] = useState({});
  const [formError, setFormError] = useState('');
  const [filled, setFilled] = useState('');
  const [busy, setBusy] = useState(false);
  const heading = useRef(null);
  const field = (name) => (value) => set((current) => ({ ...current, [name]: value }));

  // The form opens below the list: focus goes to its heading, so a keyboard or screen reader user lands there.
  useEffect(() => {
    heading.current?.focus();
  }, []);

  const submit = async (e) => {
    e.preventDefault();
    setErrors({});
    setFormError('');
    setFilled('');
    setBusy(true);
    const body = ruleBody(r);
    try {
      const answer = rule ? await api.patch(`${base}/${rule.id}`, body) : await api.post(base, body);
      onSaved(answer, rule ? 'saved' : 'added');
    } catch (error) {
      showError(error, body);
    } finally {
      setBusy(false);
    }
  };

  /** The API's refusal beside its field; for an expression, with the range it names selected in the text. */
  const showError = (error, body) => {
    const name = error instanceof ApiError ? fieldRoot(error.field) : '';
    const id = FIELD_IDS[name];
    if (!id) {
      setFormError(error.message);
      return;
    }
    const expression = (name === 'condition' || name === 'subject') && error.position && typeof body[name] === 'string';
    setErrors({ [id]: expression ? { message: error.message, source: body[name], position: error.position } : error.message });
    requestAnimationFrame(() => {
      const target = document.getElementById(id);
      if (!target) return;
      target.focus();
      // The sent text was trimmed: select the range where it sits in what the field holds, if it still does.
      const at = expression ? target.value.indexOf(body[name]) : -1;
      if (at >= 0) target.setSelectionRange(at + error.position.start, at + Math.max(error.position.end, error.position.start));
    });
  };

  return (
    <form class="rule-form" onSubmit={submit} noValidate aria-labelledby="rule-form-heading">
      <h4 id="rule-form-heading" tabindex={-1} ref={heading}>
        {rule ? `Edit rule ${rule.name}` : 'Add trust rule'}
      </h4>
      <Notice kind="error">{formError}</Notice>
      <TemplatePicker
        api={api}
        idp={idp}
        onFill={(filledRule, title) => {
          set((current) => ({
            ...current,
            name: current.name.trim() === '' ? filledRule.name : current.name,
            condition: filledRule.condition,
            subject: filledRule.subject ?? '',
          }));
          setErrors({});
          setFilled(`Condition and subject filled in from “${title}”: review them, then ${rule ? 'Save rule' : 'Add rule'}.`);
        }}
      />
      <Notice>{filled}</Notice>
      <TextField
        id="rule-name"
        label="Rule name"
        required
        value={r.name}
        onInput={field('name')}
        error={errors['rule-name']}
        hint="Unique within this IdP; audited, logged and counted for the assertions it admits."
      />
      <SelectField
        id="rule-mode"
        label="Mode"
        value={r.mode}
        onChange={field('mode')}
        error={errors['rule-mode']}
        options={[
          { value: 'enforce', label: 'enforce: admits assertions' },
          { value: 'shadow', label: 'shadow: evaluated and logged only' },
        ]}
      />
      <ExpressionField
        id="rule-condition"
        label="Condition"
        rows={4}
        value={r.condition}
        onInput={field('condition')}
        error={errors['rule-condition']}
        placeholder="claims.repository_owner_id == '1342004' && claims.ref == 'refs/heads/main'"
        hint="CEL of type bool over claims, header and client (the verified JWT's claims and header; client.id). Bind immutable ids (repository_owner_id, namespace_id), not names that can be renamed."
      />
      <ExpressionField
        id="rule-subject"
        label="Subject"
        rows={2}
        value={r.subject}
        onInput={field('subject')}
        error={errors['rule-subject']}
        hint="CEL of type string: the user the application is handed. Empty: claims.sub."
      />
      <TextArea
        id="rule-clients"
        label="Clients"
        rows={2}
        value={r.clients}
        onInput={field('clients')}
        error={errors['rule-clients']}
        hint="Consumer keys that may present the assertions this rule admits, one per line. Empty: any client of the tenant."
      />
      <TextField
        id="rule-scopes"
        label="Scopes"
        value={r.scopes}
        onInput={field('scopes')}
        error={errors['rule-scopes']}
        hint="Space-separated: the most a token from this rule may carry. Empty: no bound of its own (the IdP's allowed scopes still apply)."
      />
      <TextField
        id="rule-position"
        label="Position"
        inputmode="numeric"
        value={r.position}
        onInput={field('position')}
        error={errors['rule-position']}
        hint="Evaluation order: lower first, then by name; 0 or more. Empty on Add: after the last rule."
      />
      <div class="buttons">
        <button type="submit" disabled={busy}>
          {rule ? 'Save rule' : 'Add rule'}
        </button>
        <button type="button" class="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** The templates of `GET /admin/rule-templates`: choose one, type its parameters, fill in the rule. */
function TemplatePicker({ api, idp, onFill }) {
  const loaded = useLoad(() => api.get('/rule-templates', { tenantScoped: false }), [api]);
  const [id, setId] = useState('');
  const [values, setValues] = useState({});
  const [errors, setErrors] = useState({});
  const templates = loaded.data ?? []; // the API answers the list itself
  const template = templates.find((t) => t.id === id);

  if (loaded.error) return <Notice kind="error">{`Templates: ${loaded.error.message}`}</Notice>;
  if (templates.length === 0) return null;

  const fill = () => {
    const result = fillTemplate(template, values);
    if (result.errors) {
      setErrors(result.errors);
      const firstBad = template.parameters.find((p) => result.errors[p.name]);
      if (firstBad) requestAnimationFrame(() => document.getElementById(`rule-param-${firstBad.name}`)?.focus());
      return;
    }
    setErrors({});
    onFill(result.rule, template.title);
  };

  return (
    <fieldset class="template">
      <legend>Start from a template</legend>
      <SelectField
        id="rule-template"
        label="Template"
        value={id}
        onChange={(value) => (setId(value), setValues({}), setErrors({}))}
        options={[{ value: '', label: 'None: write the rule yourself' }, ...templates.map((t) => ({ value: t.id, label: t.title }))]}
      />
      {template && (
        <>
          <p class="hint">{template.description}</p>
          <SuggestedSettings template={template} idp={idp} />
          {template.parameters.map((p) => (
            <TextField
              key={p.name}
              id={`rule-param-${p.name}`}
              label={p.name}
              value={values[p.name] ?? ''}
              onInput={(value) => setValues((current) => ({ ...current, [p.name]: value }))}
              error={errors[p.name]}
              spellcheck={false}
              hint={`${p.description}, e.g. ${p.example}`}
            />
          ))}
          <Notice kind="error">{errors['']}</Notice>
          <button type="button" class="secondary" onClick={fill}>
            Fill in the rule
          </button>
        </>
      )}
    </fieldset>
  );
}

/** What the template expects of the IdP, beside what this IdP has (a difference is marked). */
function SuggestedSettings({ template, idp }) {
  const suggested = template.identityProvider ?? {};
  const keys = (discovery) => (discovery ? 'Keys from OIDC discovery' : 'certificates or JWKS URI');
  const rows = [
    ['Identity Provider Name (issuer)', template.issuer ?? 'the cluster’s service account issuer', idp.name, template.issuer === null],
    ['Replay policy', suggested.replayPolicy, idp.replayPolicy],
    ['Require jti', suggested.requireJti ? 'yes' : 'no', idp.requireJti ? 'yes' : 'no'],
    ['Max assertion lifetime (seconds)', String(suggested.maxAssertionLifetimeSeconds), String(idp.maxAssertionLifetimeSeconds)],
    ['Keys', keys(suggested.discovery), keys(Boolean(idp.discoveryUrl))],
  ];
  return (
    <div class="table-wrap">
      <table class="suggested">
        <caption>Suggested identity provider settings</caption>
        <thead>
          <tr>
            <th scope="col">Setting</th>
            <th scope="col">Suggested</th>
            <th scope="col">This IdP</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(([label, want, have, anyValue]) => (
            <tr key={label}>
              <th scope="row">{label}</th>
              <td class="break">{want}</td>
              <td class="break">
                {have}
                {!anyValue && want !== have && (
                  <>
                    {' '}
                    <span class="badge warn">differs</span>
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
