import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, createApi } from './api.js';
import { Notice, TextField } from './components.jsx';
import { ApplicationsPage } from './pages/applications.jsx';
import { IdentityProvidersPage } from './pages/identity-providers.jsx';
import { IssuedTokensPage } from './pages/issued-tokens.jsx';
import { TenantsPage } from './pages/tenants.jsx';
import { ValidatePage } from './pages/validate.jsx';

// The token lives in this tab only (sessionStorage): gone when the tab closes, never in a URL or cookie.
const TOKEN_KEY = 'oauth2-jwt-bearer.console.adminToken';
const TENANT_KEY = 'oauth2-jwt-bearer.console.tenant';
const DEFAULT_TENANT = 'carbon.super';

const PAGES = [
  { path: 'identity-providers', title: 'Identity providers', Page: IdentityProvidersPage },
  { path: 'applications', title: 'Applications', Page: ApplicationsPage },
  { path: 'validate', title: 'Validate', Page: ValidatePage },
  { path: 'issued-tokens', title: 'Issued tokens', Page: IssuedTokensPage },
  { path: 'tenants', title: 'Tenants', Page: TenantsPage },
];

function currentPath() {
  const path = location.hash.replace(/^#\/?/, '');
  return PAGES.some((p) => p.path === path) ? path : PAGES[0].path;
}

function readSession(key) {
  try {
    return sessionStorage.getItem(key);
  } catch {
    return null;
  }
}
function writeSession(key, value) {
  try {
    if (value === null) sessionStorage.removeItem(key);
    else sessionStorage.setItem(key, value);
  } catch {
    // storage refused (private mode): the token then lives in memory only
  }
}

export function App({ tokenEndpointUrl }) {
  const [token, setToken] = useState(() => readSession(TOKEN_KEY));
  const [notice, setNotice] = useState('');
  const signOut = (message = '') => {
    writeSession(TOKEN_KEY, null);
    setToken(null);
    setNotice(message);
  };
  if (!token) {
    return (
      <SignIn
        notice={notice}
        onSignedIn={(t) => {
          writeSession(TOKEN_KEY, t);
          setNotice('');
          setToken(t);
        }}
      />
    );
  }
  return <Console token={token} tokenEndpointUrl={tokenEndpointUrl} onSignOut={signOut} />;
}

function SignIn({ onSignedIn, notice }) {
  const [value, setValue] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setError('');
    setBusy(true);
    try {
      await createApi({ token: value.trim() }).get('/tenants', { tenantScoped: false });
      onSignedIn(value.trim());
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? 'Invalid admin token' : err.message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="sign-in" id="main">
      <h1>oauth2-jwt-bearer console</h1>
      <p>Manage identity providers, applications and tokens of this authorization server.</p>
      <form onSubmit={submit} class="card">
        <TextField
          id="admin-token"
          label="Admin token"
          type="password"
          autocomplete="off"
          spellcheck={false}
          required
          value={value}
          onInput={setValue}
          hint="The ADMIN_TOKEN of the server (npm start prints it). It is kept in this tab only."
        />
        <Notice kind="error">{error}</Notice>
        <Notice>{!error && notice}</Notice>
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}

function Console({ token, tokenEndpointUrl, onSignOut }) {
  const [path, setPath] = useState(currentPath);
  const [tenant, setTenantState] = useState(() => readSession(TENANT_KEY) || DEFAULT_TENANT);
  const [tenants, setTenants] = useState([]);
  const heading = useRef(null);

  useEffect(() => {
    const onHash = () => {
      setPath(currentPath());
      // Move focus to the new page's heading, as a page load would for a screen reader.
      requestAnimationFrame(() => heading.current?.focus());
    };
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);

  const api = useMemo(() => createApi({ token, tenant, onUnauthorized: () => onSignOut('Invalid admin token') }), [token, tenant]);
  const rootApi = useMemo(() => createApi({ token, onUnauthorized: () => onSignOut('Invalid admin token') }), [token]);

  const loadTenants = () =>
    rootApi.get('/tenants', { tenantScoped: false }).then(
      (list) => {
        setTenants(list.map((t) => t.domain));
        if (!list.some((t) => t.domain === tenant)) setTenant(DEFAULT_TENANT);
      },
      // A 401 already signed out; anything else shows on the page, whose own request fails alike.
      () => undefined,
    );
  useEffect(() => {
    void loadTenants();
  }, [rootApi]);

  const setTenant = (domain) => {
    writeSession(TENANT_KEY, domain);
    setTenantState(domain);
  };

  const page = PAGES.find((p) => p.path === path);
  const Page = page.Page;
  return (
    <div class="layout">
      <a class="skip-link" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
      <header class="top">
        <span class="brand">oauth2-jwt-bearer console</span>
        <div class="tenant-select">
          <label for="tenant">Tenant</label>
          <select id="tenant" value={tenant} onChange={(e) => setTenant(e.currentTarget.value)}>
            {(tenants.length > 0 ? tenants : [tenant]).map((d) => (
              <option key={d} value={d}>
                {d}
              </option>
            ))}
          </select>
        </div>
        <button type="button" class="secondary" onClick={() => onSignOut('Signed out.')}>
          Sign out
        </button>
      </header>
      <nav aria-label="Main">
        <ul>
          {PAGES.map((p) => (
            <li key={p.path}>
              <a href={`#/${p.path}`} aria-current={p.path === path ? 'page' : undefined}>
                {p.title}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" tabindex={-1}>
        <h1 tabindex={-1} ref={heading}>
          {page.title}
        </h1>
        <Page key={`${path}:${tenant}`} api={api} tenant={tenant} tokenEndpointUrl={tokenEndpointUrl} onTenantsChanged={loadTenants} />
      </main>
    </div>
  );
}
