// The Tributary web console: a single page app served by the broker at `/`. Routes live in the URL
// hash (#/topics/orders), so the broker serves one index.html and every link is bookmarkable.
import { StrictMode, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import './styles.css';
import { Overview } from './pages/overview.jsx';
import { Topics, TopicDetail } from './pages/topics.jsx';
import { Groups, GroupDetail } from './pages/groups.jsx';
import { Transactions, Quotas, BrokerConfigs } from './pages/admin.jsx';
import { useApi } from './components.jsx';

function useHash() {
  const [hash, setHash] = useState(() => location.hash || '#/');
  useEffect(() => {
    const on = () => setHash(location.hash || '#/');
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

const NAV = [
  ['#/', 'Overview'],
  ['#/topics', 'Topics'],
  ['#/groups', 'Consumer groups'],
  ['#/transactions', 'Transactions'],
  ['#/quotas', 'Quotas'],
  ['#/configs', 'Broker configs'],
];

function route(hash) {
  const [path, query = ''] = hash.slice(1).split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const params = new URLSearchParams(query);
  switch (parts[0]) {
    case undefined:
      return { section: '#/', page: <Overview /> };
    case 'topics':
      return { section: '#/topics', page: parts[1] ? <TopicDetail key={parts[1]} name={parts[1]} tab={parts[2] ?? 'partitions'} params={params} /> : <Topics /> };
    case 'groups':
      return { section: '#/groups', page: parts[1] ? <GroupDetail key={parts[1]} id={parts[1]} /> : <Groups /> };
    case 'transactions':
      return { section: '#/transactions', page: <Transactions /> };
    case 'quotas':
      return { section: '#/quotas', page: <Quotas /> };
    case 'configs':
      return { section: '#/configs', page: <BrokerConfigs /> };
    default:
      return { section: '', page: <p>No such page.</p> };
  }
}

function App() {
  const hash = useHash();
  const { section, page } = route(hash);
  const [who] = useApi('whoami');
  useEffect(() => {
    // A new page: focus its heading, so keyboard and screen reader users start there.
    document.querySelector('main h1')?.focus();
  }, [hash]);
  return (
    <>
      <a className="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main').focus())}>
        Skip to content
      </a>
      <header>
        <span className="brand">Tributary</span>
        <nav aria-label="Sections">
          <ul>
            {NAV.map(([href, label]) => (
              <li key={href}>
                <a href={href} aria-current={section === href ? 'page' : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        {who ? <span className="who">{who.principal}</span> : null}
      </header>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
    </>
  );
}

createRoot(document.getElementById('root')).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
