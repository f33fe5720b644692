import { CallAccept, CallAnswer, CallCancel, CallHangup, CallIce, CallInvite, CallOffer, CallReject, CallResume, CallRinging, CallStats } from '@parley/protocol';
import type { ZodType } from 'zod';
import { AppError } from '../../lib/errors.ts';
import type { ParleySocket, Realtime } from '../../realtime/realtime.ts';
import type { Device } from './call-types.ts';
import type { CallManager } from './call-manager.ts';

/**
 * Each socket's call events in flight, in arrival order: a call.resume is done before the offers
 * that follow it, and an offer is relayed before the candidates sent after it. Only a socket with
 * a call event still running has an entry (an idle socket costs nothing here).
 */
const tails = new WeakMap<ParleySocket, Promise<unknown>>();

function serial<R>(socket: ParleySocket, fn: () => Promise<R>): Promise<R> {
  const prev = tails.get(socket);
  // Nothing of this socket's in flight (nearly always): start now, not a microtask later.
  const run = prev ? prev.then(fn) : start(fn);
  const tail = run.then(
    () => undefined,
    () => undefined,
  );
  tails.set(socket, tail);
  void tail.then(() => {
    if (tails.get(socket) === tail) tails.delete(socket);
  });
  return run;
}

function start<R>(fn: () => Promise<R>): Promise<R> {
  try {
    return fn();
  } catch (err) {
    return Promise.reject(err as Error);
  }
}

/** The device a call event speaks for: the payload names it so logs and peers can tell devices apart; it must be this socket's. */
function me(socket: ParleySocket, deviceId: string): Device {
  if (deviceId !== socket.data.deviceId) throw new AppError('forbidden', 'deviceId is not the device of this connection');
  return { userId: socket.data.userId, deviceId };
}

/** Wires every socket's call.* events and its comings and goings to the CallManager. */
export function registerCallSocket(realtime: Realtime, calls: CallManager): void {
  const on = <S extends ZodType<{ deviceId: string; callId: string }>, R extends object>(event: string, schema: S, handler: (p: S['_output'], from: Device, socket: ParleySocket) => Promise<R>) =>
    realtime.on(event, schema, (socket, p) => serial(socket, () => handler(p, me(socket, p.deviceId), socket)));

  on('call.invite', CallInvite, (p, from, socket) => calls.invite(from, socket.data.name, p));
  on('call.ringing', CallRinging, (p, from) => calls.ringing(from, p.callId, p.preconnect ?? false));
  on('call.accept', CallAccept, (p, from) => calls.accept(from, p.callId));
  on('call.reject', CallReject, (p, from) => calls.handle(p.callId, { type: 'reject', from, reason: p.reason }));
  on('call.cancel', CallCancel, (p, from) => calls.handle(p.callId, { type: 'cancel', from, reason: p.reason }));
  on('call.offer', CallOffer, (p, from) => calls.handle(p.callId, { type: 'relay', from, event: 'call.offer', body: { sdp: p.sdp }, to: p.toDeviceId }));
  on('call.answer', CallAnswer, (p, from) => calls.handle(p.callId, { type: 'relay', from, event: 'call.answer', body: { sdp: p.sdp }, to: p.toDeviceId }));
  on('call.ice', CallIce, (p, from) => calls.handle(p.callId, { type: 'relay', from, event: 'call.ice', body: { candidate: p.candidate }, to: p.toDeviceId }));
  on('call.hangup', CallHangup, (p, from) => calls.handle(p.callId, { type: 'hangup', from, reason: p.reason }));
  on('call.resume', CallResume, (p, from) => calls.resume(from, p));
  on('call.stats', CallStats, (p, from) => calls.handle(p.callId, { type: 'stats', from, quality: p.quality }));

  realtime.onConnected((socket) => void calls.deviceBack({ userId: socket.data.userId, deviceId: socket.data.deviceId }));
  // A device's last socket closed here, or its node died: if it is bound to a call, its grace period starts.
  realtime.onDeviceLeft((device) => void calls.deviceLost(device));
}
