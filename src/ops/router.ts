// The operations page's routing: a route is a method, a path pattern and a handler; the first match wins.
export interface Route<H> {
  method: 'GET' | 'POST';
  path: RegExp;
  handler: H;
}

export function findRoute<H>(routes: ReadonlyArray<Route<H>>, method: string, pathname: string): { handler: H; match: RegExpExecArray } | undefined {
  const wanted = method === 'HEAD' ? 'GET' : method;
  for (const route of routes) {
    if (route.method !== wanted) continue;
    const match = route.path.exec(pathname);
    if (match) return { handler: route.handler, match };
  }
  return undefined;
}
