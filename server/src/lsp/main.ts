/** Entry point of the bundled server (dist/server.cjs), started by the VS Code client over IPC. */
import { startServer } from './server.ts';

startServer();
