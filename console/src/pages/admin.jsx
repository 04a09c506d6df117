import { useState } from 'react';
import { enc, fmtTime } from '../api.js';
import { ErrorBanner, Pager, useApi } from '../components.jsx';
import { ConfigTable } from './topics.jsx';

export function Transactions() {
  const [offset, setOffset] = useState(0);
  const [onlyOpen, setOnlyOpen] = useState(false);
  const [data, error, reload] = useApi(`transactions?offset=${offset}&limit=100${onlyOpen ? '&state=Ongoing' : ''}`);
  const hanging = data ? data.transactions.filter((t) => t.hanging) : [];
  return (
    <>
      <h1 tabIndex={-1}>Transactions</h1>
      <label className="inline">
        <input type="checkbox" checked={onlyOpen} onChange={(e) => setOnlyOpen(e.target.checked)} /> Ongoing only
      </label>{' '}
      <button type="button" onClick={reload}>
        Refresh
      </button>
      <ErrorBanner error={error} />
      {data ? (
        <>
          <p className={hanging.length ? 'warn' : 'muted'}>
            {hanging.length} hanging (open longer than their timeout){hanging.length ? `: ${hanging.map((t) => t.transactionalId).join(', ')}` : ''}.
          </p>
          <Pager total={data.total} offset={data.offset} limit={data.limit} onChange={setOffset} label="transactional ids" />
          <table>
            <thead>
              <tr>
                <th scope="col">Transactional id</th>
                <th scope="col">State</th>
                <th scope="col">Producer id / epoch</th>
                <th scope="col">Started</th>
                <th scope="col">Open for</th>
                <th scope="col">Timeout</th>
                <th scope="col">Partitions</th>
              </tr>
            </thead>
            <tbody>
              {data.transactions.map((t) => (
                <tr key={t.transactionalId} className={t.hanging ? 'warn' : ''}>
                  <td>
                    {t.transactionalId}
                    {t.hanging ? <span className="tag">hanging</span> : null}
                  </td>
                  <td>{t.state}</td>
                  <td>
                    {t.producerId} / {t.producerEpoch}
                  </td>
                  <td>{fmtTime(t.startTimeMs)}</td>
                  <td>{t.durationMs === null ? '–' : `${Math.round(t.durationMs / 1000)} s`}</td>
                  <td>{Math.round(t.timeoutMs / 1000)} s</td>
                  <td>{t.partitions.map((p) => `${p.topic}-${p.partition}`).join(', ') || '–'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
      <OpenPartitions />
    </>
  );
}

function OpenPartitions() {
  const [offset, setOffset] = useState(0);
  const [onlyHanging, setOnlyHanging] = useState(false);
  const [data, error] = useApi(`transactions/partitions?offset=${offset}&limit=100${onlyHanging ? '&hanging=true' : ''}`);
  return (
    <section aria-labelledby="open-partitions">
      <h2 id="open-partitions">Open transactions in this broker’s partitions</h2>
      <p className="muted">What kafka-transactions find-hanging looks at: a partition whose producer still has a transaction open.</p>
      <label className="inline">
        <input type="checkbox" checked={onlyHanging} onChange={(e) => setOnlyHanging(e.target.checked)} /> Hanging only
      </label>
      <ErrorBanner error={error} />
      {data ? (
        <>
          <p className={data.hanging ? 'warn' : 'muted'}>{data.hanging} hanging.</p>
          <Pager total={data.total} offset={data.offset} limit={data.limit} onChange={setOffset} label="open partitions" />
          <table>
            <thead>
              <tr>
                <th scope="col">Partition</th>
                <th scope="col">Producer id / epoch</th>
                <th scope="col">Transactional id</th>
                <th scope="col">First offset</th>
                <th scope="col">Open for</th>
                <th scope="col">Hanging</th>
              </tr>
            </thead>
            <tbody>
              {data.partitions.map((o) => (
                <tr key={`${o.topic}-${o.partition}-${o.producerId}`} className={o.hanging ? 'warn' : ''}>
                  <td>
                    {o.topic}-{o.partition}
                  </td>
                  <td>
                    {o.producerId} / {o.producerEpoch}
                  </td>
                  <td>{o.transactionalId ?? '–'}</td>
                  <td>{o.startOffset}</td>
                  <td>{Math.round(o.openForMs / 1000)} s</td>
                  <td>{o.hanging ? `yes: ${o.reason}` : 'no'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
    </section>
  );
}

export function Quotas() {
  const [data, error] = useApi('quotas');
  return (
    <>
      <h1 tabIndex={-1}>Client quotas</h1>
      <ErrorBanner error={error} />
      {data ? (
        data.quotas.length === 0 ? (
          <p className="muted">No client quotas are set (kafka-configs --alter --entity-type users|clients|ips adds them).</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Entity</th>
                <th scope="col">Quotas</th>
              </tr>
            </thead>
            <tbody>
              {data.quotas.map((q, i) => (
                <tr key={i}>
                  <td>
                    {Object.entries(q.entity)
                      .map(([k, v]) => `${k}=${v}`)
                      .join(', ')}
                  </td>
                  <td>
                    {Object.entries(q.values)
                      .map(([k, v]) => `${k}=${v}`)
                      .join(', ')}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )
      ) : null}
    </>
  );
}

export function BrokerConfigs() {
  const [cluster] = useApi('cluster');
  const [search, setSearch] = useState('');
  const [data, error] = useApi(cluster ? `configs/broker/${cluster.nodeId}?search=${enc(search)}` : null);
  return (
    <>
      <h1 tabIndex={-1}>Broker configs{cluster ? ` (broker ${cluster.nodeId})` : ''}</h1>
      <ErrorBanner error={error} />
      {data ? <ConfigTable configs={data.configs} search={search} setSearch={setSearch} /> : null}
    </>
  );
}
