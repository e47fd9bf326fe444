/** A loopback TCP proxy the tests put between the agent and the broker, to cut the link at will. */
import net from 'node:net';

export class TcpProxy {
  port = 0;
  /** Connections accepted so far. */
  accepted = 0;
  /** Connections cut by cutAll(). */
  cuts = 0;
  private server?: net.Server;
  private readonly pairs = new Set<[net.Socket, net.Socket]>();

  constructor(private readonly target: { host?: string; port: number }) {}

  /** Starts accepting on `port` (a free one if 0 and none chosen before). */
  listen(port = this.port): Promise<number> {
    return new Promise((resolve, reject) => {
      const server = net.createServer((client) => this.accept(client));
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        this.server = server;
        this.port = (server.address() as net.AddressInfo).port;
        resolve(this.port);
      });
    });
  }

  /** Drops every open connection with a TCP reset, as a failing radio link would. */
  cutAll(): number {
    let n = 0;
    for (const pair of this.pairs) {
      for (const s of pair) s.resetAndDestroy();
      this.pairs.delete(pair);
      n++;
    }
    this.cuts += n;
    return n;
  }

  /** Stops forwarding on open connections (both ways), as a link that hangs without closing. */
  stall(): void {
    for (const [client, upstream] of this.pairs) {
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
    }
  }

  /** Stops accepting and cuts everything. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.cutAll();
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  private accept(client: net.Socket): void {
    this.accepted++;
    const upstream = net.connect({ host: this.target.host ?? '127.0.0.1', port: this.target.port });
    const pair: [net.Socket, net.Socket] = [client, upstream];
    this.pairs.add(pair);
    const drop = () => {
      if (!this.pairs.delete(pair)) return;
      client.destroy();
      upstream.destroy();
    };
    for (const s of pair) {
      s.on('error', drop);
      s.on('close', drop);
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
