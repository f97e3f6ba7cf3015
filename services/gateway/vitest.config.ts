import { vigilVitestConfig } from '../../vitest.shared.ts';

export default vigilVitestConfig({ postgres: true });
