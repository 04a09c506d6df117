// The executable entry point; bin/tributary.js runs the compiled copy of this file.
import { main } from './main.js';

await main(process.argv);
