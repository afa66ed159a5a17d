import '../../src/shared/polyfill.ts';
