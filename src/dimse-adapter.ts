// The one place that relies on dcmjs-dimse's internals (version 0.3.3): what its public API does not offer, the
// SCP and the SCU reach through these functions only, so an upgrade of the library is checked here and nowhere else.
import type { Server as NetServer, Socket } from 'node:net';
import dcmjsDimse from 'dcmjs-dimse';
import type { association as dimseAssociation } from 'dcmjs-dimse';
import { type LibraryLog, captureLibraryLog } from './log.js';

// dcmjs-dimse logs every PDU at info level (the node logs what matters itself, with UIDs); its warnings and errors
// go into the node's log. Its logger is loglevel's root, shared by whoever else uses loglevel in this process.
captureLibraryLog('dcmjs-dimse', dcmjsDimse.log as unknown as LibraryLog, 'warn');

type Scp = InstanceType<typeof dcmjsDimse.Scp>;
type Server = InstanceType<typeof dcmjsDimse.Server>;
type Client = InstanceType<typeof dcmjsDimse.Client>;

/**
 * The socket of the association a Client has just opened (its `network.socket`, set synchronously by `send`).
 * dcmjs-dimse passes no socket options, and a C-STORE PDU written in pieces waits on Nagle's algorithm against
 * the peer's delayed acknowledgement for every object.
 */
export function clientSocketOf(client: Client): Socket | undefined {
  return (client as unknown as { network?: { socket?: Socket } }).network?.socket;
}

/** The association an Scp negotiated (its `association` field). */
export function associationOf(scp: Scp): dimseAssociation.Association | undefined {
  return (scp as unknown as { association?: dimseAssociation.Association }).association;
}

/** The listening net.Server behind a dcmjs-dimse Server (its `server` field). */
export function netServerOf(server: Server): NetServer | undefined {
  return (server as unknown as { server?: NetServer }).server;
}

/**
 * The first argument of Server.listen for `port` on `host`: dcmjs-dimse hands it to net.Server.listen as it is, so
 * an options object binds one address; a bare port (no host) listens on every interface.
 */
export function listenTarget(port: number, host: string | undefined): number {
  return (host ? { port, host } : port) as unknown as number;
}

/** The sockets of the Server's open connections (its `clients` field). */
export function clientSocketsOf(server: Server): Socket[] {
  const clients = (server as unknown as { clients?: Array<{ socket?: Socket }> }).clients ?? [];
  return clients.flatMap((c) => (c.socket ? [c.socket] : []));
}

/** A subclass of Scp with extra constructor arguments bound, as the class the Server instantiates per connection. */
export function asScpClass(cls: new (socket: Socket, opts: ConstructorParameters<typeof dcmjsDimse.Scp>[1]) => Scp): typeof dcmjsDimse.Scp {
  return cls as unknown as typeof dcmjsDimse.Scp;
}

/**
 * Puts `filter` in front of the 'data' listener the Scp constructor attached to its socket: every chunk passes
 * `filter` first, and reaches dcmjs-dimse only when `filter` returns true; `after` runs once it has.
 */
export function interceptSocketData(socket: Socket, filter: (chunk: Buffer) => boolean, after: () => void): void {
  for (const listener of socket.listeners('data') as Array<(chunk: Buffer) => void>) {
    socket.off('data', listener);
    socket.on('data', (chunk: Buffer) => {
      if (!filter(chunk)) return;
      listener(chunk);
      after();
    });
  }
}
