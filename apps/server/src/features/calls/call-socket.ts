import { CallAccept, CallAnswer, CallCancel, CallHangup, CallIce, CallInvite, CallOffer, CallReject, CallResume, CallRinging, CallStats } from '@parley/protocol';
import type { FastifyBaseLogger } from 'fastify';
import type { ZodType } from 'zod';
import { AppError } from '../../lib/errors.ts';
import { onEvent } from '../../realtime/on-event.ts';
import type { ParleySocket, Realtime } from '../../realtime/realtime.ts';
import type { Device } from './call-types.ts';
import type { CallManager } from './call-manager.ts';

/** Wires each socket's call.* events and its comings and goings to the CallManager. */
export function registerCallSocket(realtime: Realtime, calls: CallManager, log: FastifyBaseLogger): void {
  realtime.handle((socket) => attach(socket, calls, log));
  // A device's last socket closed here, or its node died: if it is bound to a call, its grace period starts.
  realtime.onDeviceLeft((device) => void calls.deviceLost(device));
}

function attach(socket: ParleySocket, calls: CallManager, log: FastifyBaseLogger): void {
  const me = (deviceId: string): Device => {
    // The payload names its device so logs and peers can tell devices apart; it must be this socket's.
    if (deviceId !== socket.data.deviceId) throw new AppError('forbidden', 'deviceId is not the device of this connection');
    return { userId: socket.data.user.id, deviceId };
  };
  // One call event at a time per socket, in arrival order: a call.resume is done before the offers
  // that follow it, and an offer is relayed before the candidates sent after it.
  let tail: Promise<unknown> = Promise.resolve();
  const serial = <R>(fn: () => Promise<R>): Promise<R> => {
    const run = tail.then(fn);
    tail = run.catch(() => undefined);
    return run;
  };
  const on = <S extends ZodType<{ deviceId: string; callId: string }>, R extends object>(event: string, schema: S, handler: (p: S['_output'], from: Device) => Promise<R>) =>
    onEvent(socket, log, event, schema, (p) => serial(() => handler(p, me(p.deviceId))));

  on('call.invite', CallInvite, (p, from) => calls.invite(from, socket.data.user.name, p));
  on('call.ringing', CallRinging, (p, from) => calls.ringing(from, p.callId));
  on('call.accept', CallAccept, (p, from) => calls.accept(from, p.callId, p.answer));
  on('call.reject', CallReject, (p, from) => calls.handle(p.callId, { type: 'reject', from, reason: p.reason }));
  on('call.cancel', CallCancel, (p, from) => calls.handle(p.callId, { type: 'cancel', from, reason: p.reason }));
  on('call.offer', CallOffer, (p, from) => calls.handle(p.callId, { type: 'relay', from, event: 'call.offer', body: { sdp: p.sdp } }));
  on('call.answer', CallAnswer, (p, from) => calls.handle(p.callId, { type: 'relay', from, event: 'call.answer', body: { sdp: p.sdp } }));
  on('call.ice', CallIce, (p, from) => calls.handle(p.callId, { type: 'relay', from, event: 'call.ice', body: { candidate: p.candidate } }));
  on('call.hangup', CallHangup, (p, from) => calls.handle(p.callId, { type: 'hangup', from, reason: p.reason }));
  on('call.resume', CallResume, (p, from) => calls.resume(from, p));
  on('call.stats', CallStats, (p, from) => calls.handle(p.callId, { type: 'stats', from, quality: p.quality }));

  const device: Device = { userId: socket.data.user.id, deviceId: socket.data.deviceId };
  void calls.deviceBack(device);
}
