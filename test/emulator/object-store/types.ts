/** The object-store emulator's public types. */

export type S3Action = 's3:PutObject' | 's3:GetObject' | 's3:DeleteObject' | 's3:ListBucket';

export type Operation = 'put' | 'get' | 'head' | 'delete';

export interface StoreKey {
  accessKeyId: string;
  secretAccessKey: string;
  /** Temporary credentials: every request must carry exactly this X-Amz-Security-Token. */
  sessionToken?: string;
  /** The session token stops working at this instant on the store's clock: ExpiredToken. */
  expiresAtMs?: number;
  /** What the key may do; default all four actions. */
  allow?: S3Action[];
  /** The object actions apply only under this key prefix (`renders/`); default the whole bucket. */
  prefix?: string;
}

export interface BucketSpec {
  name: string;
  /** Default: the store's region. */
  region?: string;
}

export interface ObjectStoreOptions {
  /** Default 'us-east-1'. */
  region?: string;
  /** Default ['staging']. */
  buckets?: (string | BucketSpec)[];
  /** Default one key: TEST_KEY. */
  keys?: StoreKey[];
  /** The store's clock (ms since epoch); default Date.now. See also setClockOffsetMs(). */
  now?: () => number;
  /**
   * Virtual-hosted addressing: a request whose Host is `<bucket>.<suffix>` (any port) addresses
   * that bucket, its path being the key. Path-style addressing always works.
   */
  virtualHostSuffix?: string;
}

export type StoreFault =
  /** 503 SlowDown, answered once the body is read. */
  | { kind: 'slow-down' }
  /** This error instead of handling the request, once the body is read. */
  | { kind: 'error'; status: number; code: string; message?: string; headers?: Record<string, string> }
  /** Read the request, never answer (until the client leaves or close()). */
  | { kind: 'hang' }
  /** PUT: the body is read at about this rate, then stored. GET: the object is sent at this rate. */
  | { kind: 'slow-body'; bytesPerSecond: number }
  /** Reset the connection without answering. */
  | { kind: 'reset' };

/** Faults fire on requests that pass authentication and permissions, in injection order. */
export interface StoreFaultRule {
  /** Default: any operation. */
  operation?: Operation;
  fault: StoreFault;
  /** Default 1; Infinity allowed. */
  times?: number;
}

export interface StoreRequest {
  method: string;
  host: string;
  /** As received, still encoded. */
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  operation?: Operation;
  bucket?: string;
  key?: string;
  auth: 'header' | 'query' | 'none';
  accessKeyId?: string;
  /** 0 while unanswered, or when the connection was reset instead. */
  status: number;
  /** The S3 error code answered, if any. */
  code?: string;
  /** Body bytes read from the request. */
  bytesReceived: number;
  /** performance.now() at arrival. */
  atMs: number;
}

export interface StoredObject {
  body: Buffer;
  contentType: string;
  /** Quoted MD5 hex, as S3's ETag of a single-part upload. */
  etag: string;
  lastModifiedMs: number;
}
