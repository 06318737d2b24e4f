// `node --import tsx --import ./src/bench/register.mjs ...`: adds the `?raw` text loader.
import { register } from 'node:module';

register('./rawLoader.mjs', import.meta.url);
