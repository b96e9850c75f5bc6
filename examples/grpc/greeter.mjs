// The service both sides speak, without a .proto: JSON messages over grpc-js' generic client and
// server (any serializer works; protobuf is what you would use for real).
import * as grpc from '@grpc/grpc-js';

const json = {
  requestSerialize: (value) => Buffer.from(JSON.stringify(value)),
  requestDeserialize: (bytes) => JSON.parse(bytes.toString()),
  responseSerialize: (value) => Buffer.from(JSON.stringify(value)),
  responseDeserialize: (bytes) => JSON.parse(bytes.toString()),
};

export const greeterService = {
  /** `{ name }` → `{ message, pod }`. */
  sayHello: { path: '/demo.Greeter/SayHello', requestStream: false, responseStream: false, ...json },
  /** `{ name, times }` → `times` × `{ message, pod }` (a server stream: one pod serves all of it). */
  sayHellos: { path: '/demo.Greeter/SayHellos', requestStream: false, responseStream: true, ...json },
};

export const GreeterClient = grpc.makeGenericClientConstructor(greeterService, 'Greeter');
