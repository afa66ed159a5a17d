import { FirehoseRecordReingester } from '../../src/adapters/aws/firehose-reingester.ts';
import { RecordingReingester } from '../../src/adapters/local/recording-reingester.ts';
import { FakeFirehose } from './fake-firehose.ts';
import { describeRecordReingesterContract } from './record-reingester.contract.ts';

describeRecordReingesterContract('FirehoseRecordReingester over a fake delivery stream', () => {
  const firehose = new FakeFirehose('eks-log-lake-raw');
  return {
    reingester: new FirehoseRecordReingester(firehose, 'eks-log-lake-raw', { sleep: async () => {} }),
    delivered: () => [...firehose.delivered],
    refuse: (records, sends) => firehose.refuse(records, sends),
  };
});

describeRecordReingesterContract('RecordingReingester', () => {
  const reingester = new RecordingReingester();
  return {
    reingester,
    delivered: () => [...reingester.records],
    // It can only fail whole calls: the next `sends` calls fail, whatever they hold.
    refuse: (_records, sends) => reingester.failNext(sends),
  };
});
