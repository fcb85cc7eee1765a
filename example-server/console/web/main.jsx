import { render } from 'preact';
import { App } from './app.jsx';

const meta = document.querySelector('meta[name="token-endpoint-url"]');
render(<App tokenEndpointUrl={meta ? meta.content : `${location.origin}/oauth2/token`} />, document.getElementById('app'));
