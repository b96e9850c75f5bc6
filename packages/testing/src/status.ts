/** A meta/v1 Status cause. */
export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

/** meta/v1 Status as the apiserver writes it for failures. */
export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: { continue?: string; resourceVersion?: string };
  status: 'Failure' | 'Success';
  message: string;
  reason: string;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    causes?: StatusCause[];
    retryAfterSeconds?: number;
  };
  code: number;
}

/** The StatusReason the apiserver uses for each HTTP code it answers. */
const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  409: 'Conflict',
  410: 'Expired',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

/** Default messages, close to what the apiserver says for each code. */
const MESSAGES: Record<number, string> = {
  400: 'the server rejected our request for an unknown reason',
  401: 'Unauthorized',
  403: 'forbidden: the fake apiserver was told to deny this request',
  404: 'the server could not find the requested resource',
  405: 'the server does not allow this method on the requested resource',
  406: 'the server was unable to respond with a content type that the client supports',
  409: 'the object has been modified; please apply your changes to the latest version and try again',
  410: 'too old resource version',
  422: 'the server rejected our request due to an error in our request',
  429: 'Too many requests, please try again later.',
  500: 'Internal error occurred: the fake apiserver was told to fail this request',
  503: 'the server is currently unable to handle the request',
  504: 'the server was unable to return a response in the time allotted, but may still be processing the request',
};

export function reasonForCode(code: number): string {
  return REASONS[code] ?? (code >= 500 ? 'InternalError' : 'Unknown');
}

export interface StatusOptions {
  reason?: string;
  message?: string;
  details?: Status['details'];
  retryAfterSeconds?: number;
  metadata?: Status['metadata'];
}

/** Builds a failure Status for `code`, with the apiserver's reason and message unless given. */
export function failureStatus(code: number, options: StatusOptions = {}): Status {
  const status: Status = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: options.metadata ?? {},
    status: 'Failure',
    message: options.message ?? MESSAGES[code] ?? `the fake apiserver answered ${code}`,
    reason: options.reason ?? reasonForCode(code),
    code,
  };
  let details = options.details;
  if (options.retryAfterSeconds !== undefined) {
    details = { ...details, retryAfterSeconds: options.retryAfterSeconds };
  }
  if (details !== undefined) status.details = details;
  return status;
}

/** An apimachinery field error, rendered for Invalid Status messages and causes. */
export interface FieldError {
  field: string;
  type: 'Forbidden' | 'NotSupported' | 'Invalid' | 'Required';
  detail: string;
  value?: string;
  supported?: string[];
}

const CAUSE_REASONS: Record<FieldError['type'], string> = {
  Forbidden: 'FieldValueForbidden',
  NotSupported: 'FieldValueNotSupported',
  Invalid: 'FieldValueInvalid',
  Required: 'FieldValueRequired',
};

function renderFieldError(error: FieldError): string {
  switch (error.type) {
    case 'Forbidden':
      return `Forbidden: ${error.detail}`;
    case 'Required':
      return `Required value: ${error.detail}`;
    case 'NotSupported':
      return `Unsupported value: ${JSON.stringify(error.value ?? '')}: supported values: ${(
        error.supported ?? []
      )
        .map((v) => JSON.stringify(v))
        .join(', ')}`;
    case 'Invalid':
      return `Invalid value: ${JSON.stringify(error.value ?? '')}: ${error.detail}`;
  }
}

/**
 * 422 Invalid for a meta.k8s.io ListOptions, formatted like apierrors.NewInvalid:
 * `ListOptions.meta.k8s.io "" is invalid: field: Forbidden: detail` (several errors in brackets).
 */
export function invalidListOptions(errors: readonly FieldError[]): Status {
  const rendered = errors.map((e) => `${e.field}: ${renderFieldError(e)}`);
  const joined = rendered.length === 1 ? rendered[0] : `[${rendered.join(', ')}]`;
  return failureStatus(422, {
    message: `ListOptions.meta.k8s.io "" is invalid: ${joined}`,
    details: {
      group: 'meta.k8s.io',
      kind: 'ListOptions',
      causes: errors.map((e) => ({
        reason: CAUSE_REASONS[e.type],
        message: renderFieldError(e),
        field: e.field,
      })),
    },
  });
}

/** The in-stream ERROR object for an expired resourceVersion (HTTP 200 watch, then this event). */
export function expiredStatus(message: string): Status {
  return failureStatus(410, { reason: 'Expired', message });
}
