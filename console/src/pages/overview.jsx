import { useEffect, useState } from 'react';
import { streamUrl, fmtNum, fmtBytes } from '../api.js';
import { ErrorBanner, LineChart, TableHead, UnreachableBrokers, useApi } from '../components.jsx';

/** The last minute of throughput samples from the broker's SSE stream. */
function useThroughput() {
  const [samples, setSamples] = useState([]);
  const [connected, setConnected] = useState(false);
  useEffect(() => {
    const es = new EventSource(streamUrl('cluster/throughput'));
    es.addEventListener('throughput', (e) => {
      setConnected(true);
      const s = JSON.parse(e.data);
      setSamples((prev) => [...prev.slice(-59), s]);
    });
    es.onerror = () => setConnected(false);
    return () => es.close();
  }, []);
  return [samples, connected];
}

export function Overview() {
  const [cluster, error] = useApi('cluster');
  const [samples, connected] = useThroughput();
  const last = samples.at(-1);
  return (
    <>
      <h1 tabIndex={-1}>Cluster overview</h1>
      <ErrorBanner error={error} />
      {cluster ? (
        <>
          <UnreachableBrokers brokers={cluster.unreachableBrokers} what="the groups coordinated there (not in the group count)" />
          <dl className="stats">
            <div>
              <dt>Cluster id</dt>
              <dd>{cluster.clusterId}</dd>
            </div>
            <div>
              <dt>Controller</dt>
              <dd>broker {cluster.controllerId}</dd>
            </div>
            <div>
              <dt>Brokers</dt>
              <dd>{cluster.brokers.length}</dd>
            </div>
            <div>
              <dt>Topics</dt>
              <dd>{fmtNum(cluster.topics)}</dd>
            </div>
            <div>
              <dt>Partitions</dt>
              <dd>{fmtNum(cluster.partitions)}</dd>
            </div>
            <div>
              <dt>Under-replicated</dt>
              <dd className={cluster.underReplicatedPartitions > 0 ? 'warn' : ''}>{fmtNum(cluster.underReplicatedPartitions)}</dd>
            </div>
            <div>
              <dt>Offline</dt>
              <dd className={cluster.offlinePartitions > 0 ? 'warn' : ''}>{fmtNum(cluster.offlinePartitions)}</dd>
            </div>
            <div>
              <dt>Consumer groups</dt>
              <dd>{fmtNum(cluster.groups)}</dd>
            </div>
          </dl>
          <h2>Brokers</h2>
          <table>
            <TableHead columns={['Node', 'Host', 'Port', 'Rack', 'Role']} />
            <tbody>
              {cluster.brokers.map((b) => (
                <tr key={b.nodeId}>
                  <td>{b.nodeId}</td>
                  <td>{b.host}</td>
                  <td>{b.port}</td>
                  <td>{b.rack ?? '–'}</td>
                  <td>
                    {b.nodeId === cluster.controllerId ? 'controller' : ''}
                    {b.nodeId === cluster.nodeId ? (b.nodeId === cluster.controllerId ? ', ' : '') + 'this broker' : ''}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
      <h2>Throughput (this broker, live)</h2>
      <p className="muted" aria-live="polite">
        {connected ? 'Live over server-sent events, one sample a second.' : 'Connecting to the live stream…'}
        {last ? ` Now: ${fmtBytes(last.bytesInPerSec)}/s in, ${fmtBytes(last.bytesOutPerSec)}/s out, ${fmtNum(last.messagesInPerSec)} messages/s in.` : ''}
      </p>
      <LineChart
        label="Bytes per second in and out over the last minute"
        samples={samples}
        series={[
          { key: 'bytesInPerSec', label: 'bytes in/s', color: '#1f6feb' },
          { key: 'bytesOutPerSec', label: 'bytes out/s', color: '#d97706' },
        ]}
      />
      <LineChart label="Messages per second in over the last minute" samples={samples} series={[{ key: 'messagesInPerSec', label: 'messages in/s', color: '#16a34a' }]} height={120} />
    </>
  );
}
