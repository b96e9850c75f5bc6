#!/usr/bin/env node
// A pod's gRPC server for cluster/test/grpc.test.ts (proto-less: raw bytes). `Who` answers the pod's
// name at once. `Hold` sends the pod's name as response headers at once and never answers, so a
// test knows which pod holds each call and that the call is in flight there when the pod dies.
//
//   node hold-server.mjs --port 8080 --pod greeter-0     (prints "listening" once bound)
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';

const { values } = parseArgs({ options: { port: { type: 'string' }, pod: { type: 'string' } } });
const pod = values.pod ?? 'pod';
const raw = {
  requestSerialize: (value) => value,
  requestDeserialize: (value) => value,
  responseSerialize: (value) => value,
  responseDeserialize: (value) => value,
};
const service = {
  who: { path: '/test.Pod/Who', requestStream: false, responseStream: false, ...raw },
  hold: { path: '/test.Pod/Hold', requestStream: false, responseStream: false, ...raw },
};
const server = new grpc.Server();
server.addService(service, {
  who: (_call, callback) => callback(null, Buffer.from(pod)),
  hold: (call) => {
    const headers = new grpc.Metadata();
    headers.set('pod', pod);
    call.sendMetadata(headers);
  },
});
server.bindAsync(`0.0.0.0:${values.port ?? '8080'}`, grpc.ServerCredentials.createInsecure(), (error) => {
  if (error) throw error;
  console.log('listening');
});
