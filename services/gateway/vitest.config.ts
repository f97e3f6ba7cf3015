import { vigilVitestConfig } from '../../vitest.shared.ts';

export default vigilVitestConfig();
