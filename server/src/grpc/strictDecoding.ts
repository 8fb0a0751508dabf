import type {DescMessage} from '@bufbuild/protobuf';
import {protocolSchemas as registry} from '../protocolSchemas.js';
import {InvalidArgumentError, type FieldViolation} from './invalidArgument.js';
import {findWireProblem} from './wireFormat.js';

const MALFORMED = Symbol('malformed request');

/**
 * What a strict decoder returns for bytes that are not one well-formed
 * request: grpc-js answers a decoder's throw with INTERNAL, so the decoder
 * returns this instead, and the call middleware ({@link requireWellFormed})
 * refuses it with INVALID_ARGUMENT.
 */
type MalformedRequest = {readonly [MALFORMED]: FieldViolation};

type MethodDefinition = {requestType: {decode(input: Uint8Array): unknown}};

/**
 * `definition` with every request decoder made strict: the bytes are checked
 * against the method's input schema ({@link findWireProblem}) before its own
 * decoder reads them, and a decoder that throws anyway (it never should) is
 * answered as malformed input too.
 */
export function strictDefinition<D extends {readonly fullName: string; readonly methods: object}>(definition: D): D {
  const service = registry.getService(definition.fullName);
  if (service === undefined) throw new Error(`the descriptor set has no service ${definition.fullName}`);
  const methods: Record<string, MethodDefinition> = {};
  for (const [name, method] of Object.entries(definition.methods as Record<string, MethodDefinition>)) {
    const schema = service.methods.find(m => m.localName === name)?.input;
    if (schema === undefined) throw new Error(`the descriptor set has no method ${definition.fullName}.${name}`);
    methods[name] = {...method, requestType: {...method.requestType, decode: strictDecoder(schema, method.requestType.decode)}};
  }
  return {...definition, methods};
}

function strictDecoder(schema: DescMessage, decode: (input: Uint8Array) => unknown): (input: Uint8Array) => unknown {
  return input => {
    const problem = findWireProblem(input, schema);
    if (problem !== undefined) return malformed(problem);
    try {
      return decode(input);
    } catch (error) {
      return malformed({field: '', description: (error as Error).message});
    }
  };
}

function malformed(problem: FieldViolation): MalformedRequest {
  return {[MALFORMED]: problem};
}

function problemOf(request: unknown): FieldViolation | undefined {
  return typeof request === 'object' && request !== null ? (request as Partial<MalformedRequest>)[MALFORMED] : undefined;
}

function refusal(problem: FieldViolation): InvalidArgumentError {
  return new InvalidArgumentError([{field: problem.field, description: `${problem.description}; the request is not valid protobuf`}]);
}

/**
 * Throws INVALID_ARGUMENT for a request that a strict decoder found
 * malformed; a request stream is passed on with the same check on each
 * message (the call fails at the first malformed one).
 */
export function requireWellFormed<T>(request: T, stream: boolean): T {
  if (!stream) {
    const problem = problemOf(request);
    if (problem !== undefined) throw refusal(problem);
    return request;
  }
  const messages = request as AsyncIterable<unknown>;
  return (async function* () {
    for await (const message of messages) {
      const problem = problemOf(message);
      if (problem !== undefined) throw refusal(problem);
      yield message;
    }
  })() as T;
}
