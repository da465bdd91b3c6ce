// Baseline for bench/s3_upload.sh: puts one file into a bucket with the AWS SDK for
// JavaScript (multipart, 16 MiB parts, 4 in flight: the same shape as our backend),
// and prints "sdkbench: BYTES bytes in SECONDS s".
//   node put.mjs FILE BUCKET      env: S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
import { S3Client, CreateBucketCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createReadStream, statSync } from 'node:fs';

const [file, bucket] = process.argv.slice(2);
if (!file || !bucket) {
  console.error('usage: node put.mjs FILE BUCKET');
  process.exit(2);
}
const s3 = new S3Client({
  endpoint: process.env.S3_ENDPOINT,
  region: process.env.S3_REGION ?? 'us-east-1',
  forcePathStyle: true,
  credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID, secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY },
  // Ceph RGW 16.2 predates the SDK's default CRC32 trailers (aws-chunked uploads).
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
});
try {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
} catch (e) {
  if (e.name !== 'BucketAlreadyOwnedByYou' && e.name !== 'BucketAlreadyExists') throw e;
}
const size = statSync(file).size;
const t0 = process.hrtime.bigint();
const up = new Upload({
  client: s3,
  params: { Bucket: bucket, Key: 'sdk-baseline', Body: createReadStream(file, { highWaterMark: 1 << 20 }) },
  partSize: 16 * 1024 * 1024,
  queueSize: 4,
});
await up.done();
const secs = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(`sdkbench: ${size} bytes in ${secs.toFixed(3)} s`);
