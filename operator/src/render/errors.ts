/** The inputs cannot be rendered (a resource without a uid, a bad condition reason...). */
export class RenderInputError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'RenderInputError'
  }
}
